//! Bar charts as SVG drawn on the server: no script, no library, readable
//! by a screen reader (each chart is an image with a title, and the same
//! figures sit beside it in a table), sharp on any screen.

/// Width of the drawing in its own units; the page scales it to fit.
const WIDTH: u32 = 640;
/// Where the bars start: the labels take the room before.
const BARS_X: u32 = 220;
/// The longest bar, leaving room for its figure after it.
const BARS_WIDTH: u32 = 300;
const ROW_HEIGHT: u32 = 28;
const BAR_HEIGHT: u32 = 18;
/// Characters of a label drawn before it is cut (the table has it whole).
const LABEL_CHARS: usize = 30;

/// One row of a chart.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub value: i64,
    /// The value as the page writes it.
    pub value_text: String,
    pub orders_text: String,
    /// The share of the chart's total, as the page writes it.
    pub share_text: String,
}

/// A drawn row: where its bar goes.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value_text: String,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
}

/// A horizontal bar chart and the table of its figures.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Unique on the page: the ids of its title and description.
    pub id: &'static str,
    pub title: String,
    /// The heading of the table's first column.
    pub column: &'static str,
    /// What a screen reader hears for the drawing as a whole.
    pub description: String,
    pub rows: Vec<Row>,
    pub bars: Vec<Bar>,
    pub width: u32,
    pub height: u32,
    pub bars_x: u32,
    /// Where every row of this chart is for download.
    pub csv_href: String,
}

impl BarChart {
    pub fn new(
        id: &'static str,
        title: String,
        column: &'static str,
        description: String,
        rows: Vec<Row>,
        csv_href: String,
    ) -> Self {
        let max = rows.iter().map(|r| r.value).max().unwrap_or(0).max(1);
        let bars = rows
            .iter()
            .zip(0u32..)
            .map(|(row, i)| {
                let width = (i128::from(row.value.max(0)) * i128::from(BARS_WIDTH)
                    / i128::from(max)) as u32;
                // A bar of a small but real figure stays visible.
                let width = if row.value > 0 { width.max(2) } else { 0 };
                Bar {
                    label: cut(&row.label),
                    value_text: row.value_text.clone(),
                    y: i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                    text_y: i * ROW_HEIGHT + ROW_HEIGHT / 2 + 5,
                    width,
                    value_x: BARS_X + width + 6,
                }
            })
            .collect::<Vec<_>>();
        Self {
            id,
            title,
            column,
            description,
            height: (bars.len() as u32).max(1) * ROW_HEIGHT,
            rows,
            bars,
            width: WIDTH,
            bars_x: BARS_X,
            csv_href,
        }
    }
}

/// `label` cut to what fits before the bars, with an ellipsis.
fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_string()
    } else {
        let kept: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}…", kept.trim_end())
    }
}

/// A share in basis points of `total`.
pub fn share_bp(value: i64, total: i64) -> i64 {
    if total <= 0 {
        0
    } else {
        (i128::from(value) * 10_000 / i128::from(total)) as i64
    }
}

/// The micro-and-small share against its target, drawn as one bar with a
/// mark at the target.
#[derive(Debug, Clone)]
pub struct ShareGauge {
    pub width: u32,
    /// The share's bar, in the drawing's units.
    pub filled: u32,
    pub target_x: u32,
}

impl ShareGauge {
    pub fn new(share_bp: i64, target_bp: i64) -> Self {
        const WIDTH: u32 = 600;
        let at = |bp: i64| (bp.clamp(0, 10_000) * i64::from(WIDTH) / 10_000) as u32;
        Self {
            width: WIDTH,
            filled: at(share_bp),
            target_x: at(target_bp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, value: i64) -> Row {
        Row {
            label: label.into(),
            value,
            value_text: value.to_string(),
            orders_text: "1".into(),
            share_text: String::new(),
        }
    }

    #[test]
    fn bars_are_scaled_to_the_largest_and_small_ones_stay_visible() {
        let chart = BarChart::new(
            "c",
            "t".into(),
            "k",
            "d".into(),
            vec![row("a", 1_000), row("b", 500), row("c", 1), row("d", 0)],
            String::new(),
        );
        let widths: Vec<u32> = chart.bars.iter().map(|b| b.width).collect();
        assert_eq!(widths, [BARS_WIDTH, BARS_WIDTH / 2, 2, 0]);
        assert_eq!(chart.height, 4 * ROW_HEIGHT);
        assert!(chart.bars.windows(2).all(|w| w[0].y < w[1].y));
    }

    #[test]
    fn an_empty_chart_has_room_and_no_bars() {
        let chart = BarChart::new("c", "t".into(), "k", "d".into(), vec![], String::new());
        assert!(chart.bars.is_empty());
        assert_eq!(chart.height, ROW_HEIGHT);
    }

    #[test]
    fn long_labels_are_cut_in_the_drawing_only() {
        let long = "Dinas Pekerjaan Umum Bina Marga dan Cipta Karya Provinsi";
        let chart = BarChart::new(
            "c",
            "t".into(),
            "k",
            "d".into(),
            vec![row(long, 5)],
            String::new(),
        );
        assert!(chart.bars[0].label.ends_with('…'));
        assert!(chart.bars[0].label.chars().count() <= LABEL_CHARS);
        assert_eq!(chart.rows[0].label, long);
    }

    #[test]
    fn the_gauge_marks_the_target_and_clamps_the_share() {
        let gauge = ShareGauge::new(5_000, 4_000);
        assert_eq!((gauge.filled, gauge.target_x), (300, 240));
        assert_eq!(ShareGauge::new(12_000, 4_000).filled, 600);
        assert_eq!(share_bp(1, 3), 3_333);
        assert_eq!(share_bp(5, 0), 0);
    }
}
