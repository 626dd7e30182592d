/* Validity of imported geometry, with GEOS: the one module that includes
 * geos_c.h. An invalid polygon is repaired where GEOS can (the "structure"
 * method, which keeps areas and drops collapsed parts), and the reason is
 * reported; what cannot be made a valid geometry of the wanted kind is refused. */
#ifndef ZS_GEOMFIX_H
#define ZS_GEOMFIX_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct geomfix geomfix;

/* Returns a new checker, free with geomfix_destroy(); NULL when out of memory.
 * One per thread. */
geomfix *geomfix_create(void);
void geomfix_destroy(geomfix *gf);

/* Checks the WKB geometry. Valid: ZS_OK with *fixed NULL. Invalid and
 * repairable into the same dimension (polygons stay polygons, lines lines):
 * ZS_OK with *fixed a new WKB (free with free()) and the GEOS reason in
 * err->msg. Not repairable, empty, or not WKB: ZS_EGEOM naming the problem. */
zs_status geomfix_check(geomfix *gf, const unsigned char *wkb, size_t len, unsigned char **fixed,
                        size_t *fixed_len, zs_error *err);

#endif
