"""Derives the generators' constant tables from the real samples in testdata/ (run once; output committed).

  python3 scripts/gen-tables.py > crates/ingest/src/generate/tables.rs

Anchors are real rows' coordinates: crime rows inside the city (2012 council lines) per LAPD area, the
crime rows located outside the city, and permit rows whose published district equals the 2012 lines,
with their district under the 2021 lines. Weighted tables are the sample's value counts."""
import sys, os, csv, gzip, collections, re
sys.path.insert(0, os.path.dirname(__file__))
from pip_geojson import load, lookup
T = os.path.join(os.path.dirname(__file__), '..', 'testdata')
def read(p):
    r = list(csv.reader(gzip.open(os.path.join(T, p), 'rt', newline='')))
    return r[0], r[1:]
cd12 = load(os.path.join(T, 'geo/la_city_council_districts_2012.geojson.gz'), lambda p: p['name'])
cd21 = load(os.path.join(T, 'geo/la_council_districts_2021_adopted.geojson.gz'), lambda p: p['District'])
C = collections.Counter
q = lambda s: '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'
def spread(items, k):
    if len(items) <= k: return items
    return [items[i * len(items) // k] for i in range(k)]
out = []
p = out.append
p('//! Constant tables of the `lapd_crime` and `ladbs_permits` generators, derived once from the real samples in')
p('//! `testdata/` by `scripts/gen-tables.py` (do not edit by hand; rerun the script). Anchors are real rows\'')
p('//! coordinates; weights are the samples\' value counts.')
p('')
p('use super::draw::{CrimeAnchor, PermitAnchor};')
p('')
h, rows = read('lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz')
I = {n: i for i, n in enumerate(h)}
loc_re = re.compile(r'^(\d+) ([NSEW ])  (.+?)(?: +(\S+))?$')
inside = collections.defaultdict(list); outside = []
seen = set()
for r in sorted(rows, key=lambda r: r[0]):
    if r[I['LAT']] == '0': continue
    lat, lon = float(r[I['LAT']]), float(r[I['LON']])
    m = loc_re.match(r[I['LOCATION']])
    if not m or (lat, lon) in seen: continue
    seen.add((lat, lon))
    blk, d, street, sfx = m.group(1), m.group(2).strip(), m.group(3).strip(), m.group(4) or ''
    rec = (lat, lon, int(r[I['AREA']]), int(r[I['Rpt Dist No']]), int(blk), d, street, sfx)
    (inside[rec[2]] if lookup(cd12, lat, lon) else outside).append(rec)
def crime_anchor(a):
    return f'    CrimeAnchor::new({a[0]}, {a[1]}, {a[2]}, {a[3]}, {a[4]}, {q(a[5])}, {q(a[6])}, {q(a[7])}),'
p('/// Real crime locations inside the city, 24 per LAPD area (`area` 1..=21), sorted by area.')
p('#[rustfmt::skip]')
p('pub(super) const CRIME_INSIDE: &[CrimeAnchor] = &[')
for area in sorted(inside):
    for a in spread(inside[area], 24): p(crime_anchor(a))
p('];')
p('')
p('/// Real crime locations that no 2012 council district contains (enclaves such as Beverly Hills, the edges).')
p('#[rustfmt::skip]')
p('pub(super) const CRIME_OUTSIDE: &[CrimeAnchor] = &[')
for a in outside: p(crime_anchor(a))
p('];')
p('')
def weighted(name, doc, ty, vals, fmt):
    p(f'/// {doc}')
    p('#[rustfmt::skip]')
    p(f'pub(super) const {name}: &[({ty}, u32)] = &[')
    for v, n in vals: p(f'    ({fmt(v)}, {n}),')
    p('];')
    p('')
cc = C((r[I['Crm Cd']], r[I['Part 1-2']], r[I['Crm Cd Desc']]) for r in rows)
weighted('CRIME_CODES', 'Every `(Crm Cd, Part 1-2, Crm Cd Desc)` of the sample with its count.', '(&str, &str, &str)',
         cc.most_common(), lambda v: f'({q(v[0])}, {q(v[1])}, {q(v[2])})')
pc = C((r[I['Premis Cd']], r[I['Premis Desc']]) for r in rows if r[I['Premis Cd']])
weighted('PREMISES', 'The 40 most frequent `(Premis Cd, Premis Desc)` with their counts.', '(&str, &str)',
         pc.most_common(40), lambda v: f'({q(v[0])}, {q(v[1])})')
wc = C((r[I['Weapon Used Cd']], r[I['Weapon Desc']]) for r in rows if r[I['Weapon Used Cd']])
weighted('WEAPONS', 'The 20 most frequent `(Weapon Used Cd, Weapon Desc)` (rows with a weapon) with their counts.', '(&str, &str)',
         wc.most_common(20), lambda v: f'({q(v[0])}, {q(v[1])})')
mc = C(m for r in rows for m in r[I['Mocodes']].split())
weighted('MOCODES', 'The 40 most frequent single Mocodes with their counts.', '&str', mc.most_common(40), q)
dc = C(r[I['Vict Descent']] for r in rows if r[I['Vict Descent']])
weighted('DESCENTS', '`Vict Descent` codes of rows with a victim, with their counts.', '&str', dc.most_common(), q)
hc = C(int(r[I['TIME OCC']][:2]) for r in rows)
p('/// `TIME OCC` hour counts, hour 0..=23.')
p('#[rustfmt::skip]')
p('pub(super) const HOUR_WEIGHTS: [u32; 24] = [' + ', '.join(str(hc[i]) for i in range(24)) + '];')
p('')
h, rows = read('ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz')
I = {n: i for i, n in enumerate(h)}
per = collections.defaultdict(list); seen = set()
for r in sorted(rows, key=lambda r: r[I['PCIS Permit #']]):
    ll = r[I['Latitude/Longitude']]
    if not ll: continue
    lat, lon = map(float, ll.strip('()').split(','))
    cd = int(r[I['Council District']])
    if (lat, lon) in seen or lookup(cd12, lat, lon) != cd: continue
    seen.add((lat, lon))
    per[cd].append((lat, lon, cd, lookup(cd21, lat, lon), int(r[I['Address Start']]), r[I['Street Direction']],
                    r[I['Street Name']], r[I['Street Suffix']], r[I['Zip Code']], r[I['Census Tract']]))
anchors = [a for cd in sorted(per) for a in spread(per[cd], 24)]
c21 = C(a[3] for a in anchors)
for cd in range(1, 16):  # top up districts of the 2021 lines that the 2012 selection leaves thin
    extra = [a for k in sorted(per) for a in per[k] if a[3] == cd and a not in anchors]
    anchors += spread(extra, max(0, 16 - c21[cd]))
print('cd2021 anchors', sorted(C(a[3] for a in anchors).items()), file=sys.stderr)
p('/// Real permit locations whose published district equals the 2012 lines: 24 per district, topped up so that')
p('/// every district of the 2021 lines (`cd2021`, 0 = none) has at least 16.')
p('#[rustfmt::skip]')
p('pub(super) const PERMIT_ANCHORS: &[PermitAnchor] = &[')
for a in anchors:
    p(f'    PermitAnchor::new({a[0]}, {a[1]}, {a[2]}, {a[3]}, {a[4]}, {q(a[5])}, {q(a[6])}, {q(a[7])}, {q(a[8])}, {q(a[9])}),')
p('];')
print('\n'.join(out))
print('crime inside', sum(len(spread(v,24)) for v in inside.values()), 'outside', len(outside), file=sys.stderr)
