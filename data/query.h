/* The query layer: turns a search, a click or a request for the parks into
 * a JSON body, reading only the immutable snapshot (any number of threads at
 * once, no locks). Knows nothing of HTTP; the server parses parameters with
 * query_search_set() and hands the body on.
 *
 * Carriers are written as their ready profile JSON (profile.h), verbatim.
 * Coordinates in requests and responses are CGCS2000 lon/lat degrees
 * (EPSG:4490, which agrees with WGS84 to centimetres); the snapshot's
 * geometry is EPSG:3857 metres and is converted at the edges.
 *
 * Every function appends to out (a capped buffer set up by the caller,
 * buf.h). On error the function returns the status with a message in err and
 * leaves out as it was on entry; a document larger than out's cap is
 * ZS_ENOMEM. */
#ifndef ZS_QUERY_H
#define ZS_QUERY_H

#include "buf.h"
#include "error.h"
#include "filter.h"
#include "snapshot.h"

#include <stdbool.h>
#include <stddef.h>

#define QUERY_LIMIT_DEFAULT 100
#define QUERY_LIMIT_MAX 1000
#define QUERY_OFFSET_MAX 100000 /* deeper paging is refused: the cost grows with offset */
#define QUERY_Q_MAX 200         /* bytes of free text */
#define QUERY_AT_MAX 20         /* carriers returned for a click */
#define QUERY_AT_TOLERANCE_PX 4 /* click tolerance, pixels of a 256-px tile at the zoom */
#define QUERY_ZOOM_MAX 24

typedef enum {
    QUERY_JSON,    /* {"total", "limit", "offset", "carriers": [profile...]} */
    QUERY_GEOJSON, /* an RFC 7946 FeatureCollection, profiles as properties */
} query_format;

/* A search. Start from query_search_defaults(); every condition given must
 * hold. */
typedef struct {
    bool has_bbox;
    /* EPSG:4490 degrees, inclusive; west <= east, south <= north. A carrier
     * matches when its geometry (not just its bounding box) touches the box. */
    double west, south, east, north;
    carrier_filter filter;
    /* Free text: "" for none. A carrier matches when its id, name_zh or
     * name_en contains q as a substring, ASCII letters compared without
     * case, everything else byte for byte (valid UTF-8 matches only on
     * character boundaries). */
    char q[QUERY_Q_MAX + 1];
    unsigned limit;  /* carriers returned, 1..QUERY_LIMIT_MAX */
    unsigned offset; /* matches skipped first, 0..QUERY_OFFSET_MAX */
    query_format format;
} query_search_args;

/* No bbox, no filter, no text, limit QUERY_LIMIT_DEFAULT, offset 0, JSON. */
query_search_args query_search_defaults(void);

/* Applies one request parameter: bbox ("W,S,E,N" in degrees), q, limit,
 * offset, format ("json" | "geojson") or any filter_set() name. *known is
 * false for another name (the caller decides); a bad value is ZS_EINVAL
 * naming the parameter and the value, and changes nothing. */
zs_status query_search_set(query_search_args *a, const char *name, const char *value, bool *known,
                           zs_error *err);

/* Searches the carriers of all three carrier layers. Matches are ordered by
 * id (strcmp, byte order), so pages are stable; the page is the matches at
 * [offset, offset + limit) of that order and "total" counts all matches.
 * Cost: filter_match() on every carrier of the layers the kinds allow (on
 * the index's hits for a bbox), plus the page; each layer's matches are
 * sorted only when the source did not hand them out in id order. On the
 * demo district (29,575 carriers): 0.2-0.7 ms with filters, 0.03 ms with a
 * map-sized bbox, about 1 ms with q (it reads every carrier's names).
 *
 * QUERY_JSON:
 *   {"total":N,"limit":L,"offset":O,"carriers":[<profile>,...]}
 * QUERY_GEOJSON:
 *   {"type":"FeatureCollection","numberMatched":N,"numberReturned":n,
 *    "total":N,"limit":L,"offset":O,"features":[{"type":"Feature","id":"<id>",
 *    "geometry":<geometry>,"properties":<profile>},...]}
 *   Geometry in lon/lat degrees with 7 decimals (about 1 cm): Point (or
 *   MultiPoint), Polygon with its holes, MultiPolygon when the carrier has
 *   more than one outer ring; null for a carrier without geometry. Rings
 *   follow the right-hand rule (outer rings counter-clockwise, holes
 *   clockwise; a stored ring is reversed when needed) and stay closed.
 * Bad arguments are ZS_EINVAL. */
zs_status query_search(const snapshot *s, const query_search_args *a, zs_buf *out, zs_error *err);

/* The carriers under a click at lon/lat (EPSG:4490 degrees) on a map at zoom
 * (0..QUERY_ZOOM_MAX, fractional allowed), topmost first: buildings and
 * factories, then parcels, then parks. A polygon matches when the point is
 * inside it (even-odd: a hole is outside) or within the tolerance of its
 * outline; a point carrier within the tolerance of its point. The tolerance
 * is QUERY_AT_TOLERANCE_PX pixels of a 256-px tile at zoom, in EPSG:3857
 * metres 4 * 2 * MERC_MAX / (256 * 2^zoom): 2.4 m at zoom 18, 611 m at zoom
 * 10. Within a layer: nearest first (0 inside), then the one drawn last
 * (later in the source's order) first. At most QUERY_AT_MAX carriers:
 *   {"lon":..,"lat":..,"zoom":..,"carriers":[<profile>,...]}
 * Coordinates outside lon [-180, 180] / lat [-90, 90] or a zoom out of range
 * are ZS_EINVAL. */
zs_status query_at(const snapshot *s, double lon, double lat, double zoom, zs_buf *out,
                   zs_error *err);

/* The parks with their statistics, by id, computed on each call from the
 * snapshot: one pass over the parcels and buildings, about 0.13 ms for the
 * demo district's 21 parks and 29,575 carriers, so nothing is kept per
 * snapshot (a server may still cache the body by the snapshot's data
 * version):
 *   {"total":N,"parks":[{"id","name":{"zh","en"},"lon","lat","status",
 *     "industries":[codes] or null,"area_m2","enterprises","annual_tax_wan",
 *     "carriers":{"parcels","buildings","factories"},
 *     "available_area_m2","vacant_floor_area_m2","gross_floor_area_m2",
 *     "vacancy"},...]}
 * where, over the parcels and buildings whose park is this one:
 *   carriers.*            counts by kind (buildings: offices only)
 *   vacant_floor_area_m2  sum of vacant floor area of buildings and factories
 *                         that state it (any status)
 *   gross_floor_area_m2   sum of gross floor area of those that state both
 *                         gross and vacant area
 *   vacancy               vacant / gross over those same ones (0..1); null
 *                         when no gross area is known
 *   available_area_m2     vacant_floor_area_m2 + land area of the parcels
 *                         with status available that state it
 *   lon, lat              the park's centroid (6 decimals); area_m2,
 *                         enterprises, annual_tax_wan, status, industries:
 *                         the park's own fields, null when absent. */
zs_status query_parks(const snapshot *s, zs_buf *out, zs_error *err);

#endif
