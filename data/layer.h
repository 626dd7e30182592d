/* The store's layers and their fields: the one description of the data model
 * that the store (columns), import (field mapping), snapshot and profile share.
 * Units are in the field names; an absent value is NULL, never 0. */
#ifndef ZS_LAYER_H
#define ZS_LAYER_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    LAYER_PARKS,
    LAYER_PARCELS,
    LAYER_BUILDINGS, /* offices (kind building) and factories (kind factory) */
    LAYER_BOUNDARY,
    LAYER_ROADS,
    LAYER_WATER,
    LAYER_COUNT
} layer_id;

typedef enum {
    FIELD_TEXT,
    FIELD_REAL,
    FIELD_INT,
    FIELD_ENUM,   /* one of choices */
    FIELD_LIST,   /* comma-separated choices, e.g. industries */
    FIELD_PHOTOS, /* "file[|caption];file[|caption]" relative to the input file; not a column */
} field_type;

typedef struct {
    const char *code;     /* stored value, e.g. "available" */
    const char *synonyms; /* '|'-separated names accepted on import, e.g. "可租|空置" */
} layer_choice;

typedef struct {
    const char *name; /* column name, also the default source field name */
    field_type type;
    const layer_choice *choices; /* FIELD_ENUM/FIELD_LIST; NULL-code terminated */
    bool required;
    const char *doc; /* meaning and unit */
} layer_field;

typedef enum { GEOM_POLYGON, GEOM_LINE } layer_geom;

typedef struct {
    layer_id id;
    const char *name; /* table and CLI name */
    bool carrier;     /* parks, parcels and buildings are carriers */
    layer_geom geom;  /* stored as MULTIPOLYGON or MULTILINESTRING, EPSG:4490 */
    const layer_field *fields;
    size_t nfields;
} layer_info;

/* The layer's description, never NULL for id < LAYER_COUNT. */
const layer_info *layer_get(layer_id id);

/* Finds a layer by its name ("parks"); false when there is none. */
bool layer_by_name(const char *name, layer_id *out);

/* Index of the named field in info->fields, or -1. */
int layer_field_index(const layer_info *info, const char *name);

/* The code for raw (a code or a synonym, case-insensitive for ASCII), or NULL. */
const char *layer_choice_code(const layer_field *field, const char *raw);

/* Shared choice lists, also used by filters and profiles. */
extern const layer_choice layer_status_choices[];
extern const layer_choice layer_land_use_choices[];
extern const layer_choice layer_industry_choices[];
extern const layer_choice layer_kind_choices[];

#define LAYER_MU_M2 666.67 /* one mu (亩) in square metres */

#endif
