//! The prepared point-in-district index of one boundary set: an R-tree over polygon pieces and
//! one over ring segments for the exact test, and a uniform grid that answers most points with
//! one array read. Every geometric decision is made by `geo` predicates.
//!
//! The exact test: a point is covered by district `d` when one of `d`'s polygons contains it
//! (geo's interval-tree `Contains`) or it lies on one of `d`'s ring segments (geo's
//! `Intersects<Coord>` for `Line`). Covered by several districts (a shared edge or vertex, or
//! an overlap in the data), it belongs to the lowest district number.
//!
//! The grid: a cell whose closed rectangle, grown by [`CELL_EPS`], meets no ring segment
//! (geo's `Intersects<Line>` for `Rect`) lies wholly inside one district or wholly outside
//! all: such cells are classified once, by the exact test at their centre (one test per
//! connected group of such cells). Only points in the remaining boundary cells run the exact
//! test.

use std::collections::VecDeque;

use geo::indexed::IntervalTreeMultiPolygon;
use geo::{BoundingRect, Contains, Coord, Intersects, Line, LinesIter, MultiPolygon, Point, Rect};
use rstar::primitives::GeomWithData;
use rstar::{AABB, Envelope, RTree};

/// Grid cells are tested grown by this much (degrees, ~0.1 mm), so a point whose cell index is
/// off by rounding still lies in the grown rectangle that was proven boundary-free.
const CELL_EPS: f64 = 1e-9;
/// Target number of grid cells per set (one byte each).
const GRID_CELLS: usize = 1 << 21;
/// Cell value: outside every district.
const OUTSIDE: u8 = 0;
/// Cell value: a boundary crosses the cell; run the exact test.
const MIXED: u8 = u8::MAX;

/// One polygon of a district, prepared for containment tests.
struct Piece {
    district: u8,
    interior: IntervalTreeMultiPolygon<f64>,
}

/// The prepared index of one boundary set.
pub(crate) struct Index {
    pieces: Vec<Piece>,
    piece_tree: RTree<GeomWithData<Rect<f64>, u32>>,
    segment_tree: RTree<GeomWithData<Line<f64>, u8>>,
    grid: Grid,
}

struct Grid {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    inv_dx: f64,
    inv_dy: f64,
    nx: usize,
    ny: usize,
    cells: Vec<u8>,
}

impl Index {
    /// Prepare `districts` (number, shape); numbers are in `1..=254`.
    pub fn new(districts: &[(u8, MultiPolygon<f64>)]) -> Self {
        let mut pieces = Vec::new();
        let mut rects = Vec::new();
        let mut segments = Vec::new();
        for (number, shape) in districts {
            for poly in &shape.0 {
                let Some(rect) = poly.bounding_rect() else {
                    continue;
                };
                rects.push(GeomWithData::new(rect, pieces.len() as u32));
                pieces.push(Piece {
                    district: *number,
                    interior: IntervalTreeMultiPolygon::new(&MultiPolygon(vec![poly.clone()])),
                });
                segments.extend(poly.lines_iter().map(|l| GeomWithData::new(l, *number)));
            }
        }
        let mut index = Index {
            pieces,
            piece_tree: RTree::bulk_load(rects),
            segment_tree: RTree::bulk_load(segments),
            grid: Grid::empty(),
        };
        index.grid = Grid::build(&index);
        index
    }

    /// The district covering `c` (lowest number if several), by the grid then the exact test.
    #[inline]
    pub fn district(&self, c: Coord<f64>) -> Option<u8> {
        match self.grid.cell(c) {
            None | Some(OUTSIDE) => None,
            Some(MIXED) => self.exact(c),
            Some(d) => Some(d),
        }
    }

    /// The exact test, without the grid.
    pub fn exact(&self, c: Coord<f64>) -> Option<u8> {
        let at = AABB::from_point(Point(c));
        let mut best: Option<u8> = None;
        for r in self.piece_tree.locate_in_envelope_intersecting(&at) {
            let piece = &self.pieces[r.data as usize];
            if best.is_none_or(|b| piece.district < b) && piece.interior.contains(&c) {
                best = Some(piece.district);
            }
        }
        for s in self.segment_tree.locate_in_envelope_intersecting(&at) {
            if best.is_none_or(|b| s.data < b) && s.geom().intersects(&c) {
                best = Some(s.data);
            }
        }
        best
    }

    /// True when `c` falls in a grid cell a boundary crosses (the exact test runs).
    pub fn needs_exact(&self, c: Coord<f64>) -> bool {
        self.grid.cell(c) == Some(MIXED)
    }

    /// Share of grid cells that need the exact test (for the README's measurements).
    pub fn mixed_share(&self) -> f64 {
        let n = self.grid.cells.len().max(1);
        self.grid.cells.iter().filter(|&&c| c == MIXED).count() as f64 / n as f64
    }
}

impl Grid {
    fn empty() -> Self {
        Grid {
            x0: 0.0,
            y0: 0.0,
            x1: -1.0,
            y1: -1.0,
            inv_dx: 0.0,
            inv_dy: 0.0,
            nx: 0,
            ny: 0,
            cells: Vec::new(),
        }
    }

    /// Cell value at `c`; `None` outside the grid (outside every piece's bounding box).
    #[inline]
    fn cell(&self, c: Coord<f64>) -> Option<u8> {
        // Written so NaN fails every comparison and lands in `None`.
        if !(c.x >= self.x0 && c.x <= self.x1 && c.y >= self.y0 && c.y <= self.y1) {
            return None;
        }
        let i = (((c.x - self.x0) * self.inv_dx) as usize).min(self.nx - 1);
        let j = (((c.y - self.y0) * self.inv_dy) as usize).min(self.ny - 1);
        Some(self.cells[j * self.nx + i])
    }

    fn rect(&self, i: usize, j: usize, grow: f64) -> Rect<f64> {
        let dx = (self.x1 - self.x0) / self.nx as f64;
        let dy = (self.y1 - self.y0) / self.ny as f64;
        Rect::new(
            Coord {
                x: self.x0 + i as f64 * dx - grow,
                y: self.y0 + j as f64 * dy - grow,
            },
            Coord {
                x: self.x0 + (i + 1) as f64 * dx + grow,
                y: self.y0 + (j + 1) as f64 * dy + grow,
            },
        )
    }

    fn build(index: &Index) -> Self {
        let mut envelope = None::<AABB<Point<f64>>>;
        for r in index.piece_tree.iter() {
            let e = AABB::from_corners(Point(r.geom().min()), Point(r.geom().max()));
            envelope = Some(match envelope {
                None => e,
                Some(acc) => acc.merged(&e),
            });
        }
        let Some(env) = envelope else {
            return Grid::empty();
        };
        let (lo, hi) = (env.lower(), env.upper());
        let (w, h) = ((hi.x() - lo.x()).max(1e-12), (hi.y() - lo.y()).max(1e-12));
        // Square-ish cells, about GRID_CELLS of them.
        let side = (w * h / GRID_CELLS as f64).sqrt();
        let nx = ((w / side).ceil() as usize).max(1);
        let ny = ((h / side).ceil() as usize).max(1);
        let mut grid = Grid {
            x0: lo.x(),
            y0: lo.y(),
            x1: hi.x(),
            y1: hi.y(),
            inv_dx: nx as f64 / w,
            inv_dy: ny as f64 / h,
            nx,
            ny,
            cells: vec![OUTSIDE; nx * ny],
        };
        let mut mixed = vec![false; nx * ny];
        let clamp_x =
            |x: f64| (((x - grid.x0) * grid.inv_dx).floor().max(0.0) as usize).min(nx - 1);
        let clamp_y =
            |y: f64| (((y - grid.y0) * grid.inv_dy).floor().max(0.0) as usize).min(ny - 1);
        for s in index.segment_tree.iter() {
            let line = s.geom();
            let (ax, bx) = (line.start.x.min(line.end.x), line.start.x.max(line.end.x));
            let (ay, by) = (line.start.y.min(line.end.y), line.start.y.max(line.end.y));
            // One cell of slack each way covers the CELL_EPS growth.
            let (i0, i1) = (clamp_x(ax).saturating_sub(1), (clamp_x(bx) + 1).min(nx - 1));
            let (j0, j1) = (clamp_y(ay).saturating_sub(1), (clamp_y(by) + 1).min(ny - 1));
            for j in j0..=j1 {
                for i in i0..=i1 {
                    let k = j * nx + i;
                    if !mixed[k] && grid.rect(i, j, CELL_EPS).intersects(line) {
                        mixed[k] = true;
                    }
                }
            }
        }
        // Boundary-free cells that share an edge form a region no boundary crosses, so one
        // exact test at one cell's centre classifies the whole connected group.
        let mut seen = mixed.clone();
        let mut queue = VecDeque::new();
        for start in 0..nx * ny {
            if seen[start] {
                continue;
            }
            let (i, j) = (start % nx, start / nx);
            let centre = grid.rect(i, j, 0.0).center();
            let value = index.exact(centre).unwrap_or(OUTSIDE);
            seen[start] = true;
            queue.push_back(start);
            while let Some(k) = queue.pop_front() {
                grid.cells[k] = value;
                let (i, j) = (k % nx, k / nx);
                let mut visit = |n: usize| {
                    if !seen[n] {
                        seen[n] = true;
                        queue.push_back(n);
                    }
                };
                if i > 0 {
                    visit(k - 1);
                }
                if i + 1 < nx {
                    visit(k + 1);
                }
                if j > 0 {
                    visit(k - nx);
                }
                if j + 1 < ny {
                    visit(k + nx);
                }
            }
        }
        for (cell, m) in grid.cells.iter_mut().zip(&mixed) {
            if *m {
                *cell = MIXED;
            }
        }
        grid
    }
}
