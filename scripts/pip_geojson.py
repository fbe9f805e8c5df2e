"""One-off helper (not part of the build): even-odd point-in-polygon over a GeoJSON file."""
import json,gzip
def load(path, key):
    op = gzip.open if path.endswith('.gz') else open
    g=json.load(op(path,'rt'))
    out=[]
    for f in g['features']:
        geom=f['geometry']; polys=geom['coordinates'] if geom['type']=='MultiPolygon' else [geom['coordinates']]
        rings=[r for p in polys for r in p]
        xs=[x for r in rings for x,*_ in r]; ys=[y for r in rings for _,y,*_ in r]
        out.append((int(key(f['properties'])), (min(xs),min(ys),max(xs),max(ys)), rings))
    return out
def inside(rings, x, y):
    c=False
    for r in rings:
        n=len(r)
        for i in range(n-1):
            x1,y1=r[i][0],r[i][1]; x2,y2=r[i+1][0],r[i+1][1]
            if (y1>y)!=(y2>y) and x < (x2-x1)*(y-y1)/(y2-y1)+x1: c=not c
    return c
def lookup(shapes, lat, lon):
    for k,(a,b,c,d),rings in shapes:
        if a<=lon<=c and b<=lat<=d and inside(rings, lon, lat): return k
    return 0
