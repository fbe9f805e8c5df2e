//! SVG line charts drawn by plotters (SVG backend only, no fonts needed): one weekly series per chart.

use chrono::{DateTime, Utc};
use plotters::prelude::*;

/// Width and height of a chart in CSS pixels.
pub const SIZE: (u32, u32) = (560, 220);

const WEEK_US: f64 = 7.0 * 24.0 * 3600.0 * 1e6;

/// What to draw: a title, the y axis name, a colour, and the points (week start, value; None leaves a gap).
pub struct LineChart<'a> {
    /// Caption above the plot.
    pub title: &'a str,
    /// Name of the y axis.
    pub y_desc: &'a str,
    /// Line colour (r, g, b).
    pub rgb: (u8, u8, u8),
    /// The series, in time order.
    pub points: &'a [(DateTime<Utc>, Option<f64>)],
}

/// Errors drawing a chart.
#[derive(Debug, thiserror::Error)]
#[error("drawing chart {title:?}: {message}")]
pub struct ChartError {
    /// The chart.
    pub title: String,
    /// What plotters said.
    pub message: String,
}

fn week_x(t: &DateTime<Utc>) -> f64 {
    t.timestamp_micros() as f64 / WEEK_US
}

fn x_label(x: &f64) -> String {
    DateTime::from_timestamp_micros((x * WEEK_US) as i64)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// One line of a multi-line chart.
pub struct Line<'a> {
    /// Legend text (empty: no legend).
    pub label: &'a str,
    /// Colour (r, g, b).
    pub rgb: (u8, u8, u8),
    /// The series, in time order (None leaves a gap).
    pub points: &'a [(DateTime<Utc>, Option<f64>)],
}

/// Renders `chart` as one `<svg class="chart">` element (no XML prolog; ready to inline in HTML).
pub fn render(chart: &LineChart<'_>) -> Result<String, ChartError> {
    render_lines(
        chart.title,
        chart.y_desc,
        &[Line {
            label: "",
            rgb: chart.rgb,
            points: chart.points,
        }],
    )
}

/// Several series on one chart (one x axis of weeks, one y axis from 0, or from the lowest value when one is
/// negative), with a legend when the lines are labelled.
pub fn render_lines(title: &str, y_desc: &str, lines: &[Line<'_>]) -> Result<String, ChartError> {
    let err = |e: &dyn std::fmt::Display| ChartError {
        title: title.to_owned(),
        message: e.to_string(),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let xs: Vec<f64> = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|(t, _)| week_x(t)))
            .collect();
        let (x0, x1) = match (
            xs.iter().copied().reduce(f64::min),
            xs.iter().copied().reduce(f64::max),
        ) {
            (Some(a), Some(b)) if b > a => (a, b),
            (Some(a), _) => (a - 1.0, a + 1.0),
            _ => (0.0, 1.0),
        };
        let values = || {
            lines
                .iter()
                .flat_map(|l| l.points.iter().filter_map(|(_, v)| *v))
                .filter(|v| v.is_finite())
        };
        let ymax = values().fold(0.0_f64, f64::max);
        let ymin = values().fold(0.0_f64, f64::min);
        let ymax = if ymax > 0.0 { ymax * 1.1 } else { 1.0 };
        let ymin = if ymin < 0.0 { ymin * 1.1 } else { 0.0 };
        let mut ctx = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(52)
            .build_cartesian_2d(x0..x1, ymin..ymax)
            .map_err(|e| err(&e))?;
        ctx.configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&x_label)
            .y_label_formatter(&|y| {
                if ymax - ymin >= 10.0 {
                    format!("{y:.0}")
                } else {
                    format!("{y:.1}")
                }
            })
            .y_desc(y_desc)
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| err(&e))?;
        for line in lines {
            let (r, g, b) = line.rgb;
            let style = RGBColor(r, g, b).stroke_width(2);
            // One path per run of points with a value, so missing weeks show as gaps.
            let mut run: Vec<(f64, f64)> = Vec::new();
            let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
            for (t, v) in line.points {
                match v.filter(|v| v.is_finite()) {
                    Some(v) => run.push((week_x(t), v)),
                    None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                    None => {}
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            for (i, run) in runs.into_iter().enumerate() {
                let drawn = ctx
                    .draw_series(LineSeries::new(run, style))
                    .map_err(|e| err(&e))?;
                if i == 0 && !line.label.is_empty() {
                    drawn.label(line.label).legend(move |(x, y)| {
                        PathElement::new(
                            vec![(x, y), (x + 16, y)],
                            RGBColor(r, g, b).stroke_width(2),
                        )
                    });
                }
            }
        }
        if lines.iter().any(|l| !l.label.is_empty()) {
            ctx.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(RGBColor(200, 200, 200))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    let start = svg
        .find("<svg")
        .ok_or_else(|| err(&"plotters wrote no <svg> element"))?;
    let mut out = String::with_capacity(svg.len() + 64);
    out.push_str("<svg class=\"chart\" role=\"img\" aria-label=\"");
    out.push_str(&crate::html::escape(title));
    out.push_str("\" ");
    out.push_str(&svg[start + 5..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(4 * 86_400 + n * 7 * 86_400, 0).unwrap()
    }

    #[test]
    fn renders_one_classed_svg_with_a_path_per_run_of_values() {
        let points = [
            (week(2500), Some(10.0)),
            (week(2501), Some(30.0)),
            (week(2502), None),
            (week(2503), Some(20.0)),
            (week(2504), Some(25.0)),
        ];
        let svg = render(&LineChart {
            title: "CD 4 <requests>",
            y_desc: "requests",
            rgb: (31, 119, 180),
            points: &points,
        })
        .unwrap();
        assert!(svg.starts_with("<svg class=\"chart\""), "{}", &svg[..80]);
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("CD 4 &lt;requests&gt;"));
        assert!(!svg.contains("<?xml"));
        // Two runs of values -> two polylines in the series colour.
        assert_eq!(
            svg.matches("stroke=\"#1F77B4\" stroke-width=\"2\"").count(),
            2,
            "{svg}"
        );
    }

    #[test]
    fn empty_series_still_renders_axes() {
        let svg = render(&LineChart {
            title: "empty",
            y_desc: "hours",
            rgb: (0, 0, 0),
            points: &[],
        })
        .unwrap();
        assert!(svg.contains("</svg>"));
        assert_eq!(svg.matches("stroke-width=\"2\"").count(), 0);
    }
}
