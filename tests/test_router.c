/* The request router: every route with good input and its exact parsed
 * values, every rejection with its exact status and a message naming the
 * problem, percent-encoding tricks, number edge cases and size limits. */
#include "router.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static route r;
static zs_error e;

/* Routes method and target; on an unexpected result says which request. */
static zs_status req(const char *method, const char *target)
{
    memset(&e, 0, sizeof e);
    zs_status st = route_parse_target(method, target, &r, &e);
    if (st != ZS_OK) {
        /* every message is one sentence of valid UTF-8 without controls */
        CHECK(e.msg[0] != '\0');
        CHECK(route_text_valid(e.msg, strlen(e.msg)));
        CHECK(r.kind == ROUTE_NONE);
    } else {
        CHECK_INT(r.http_status, 200);
    }
    return st;
}

/* Expects method target to be refused with http and a message containing
 * needle. */
static void refuse_line(int line, const char *method, const char *target, int http,
                        const char *needle)
{
    zs_status st = req(method, target);
    if (st == ZS_OK || r.http_status != http || !strstr(e.msg, needle)) {
        fprintf(stderr, "%s:%d: %s %.200s: expected %d with \"%s\", got status %d (%d) \"%s\"\n",
                __FILE__, line, method ? method : "(null)", target, http, needle, r.http_status,
                (int)st, e.msg);
        test_failures++;
    }
    zs_status want = http == 404 ? ZS_ENOTFOUND : http == 414 ? ZS_ENOMEM : ZS_EINVAL;
    CHECK_INT(st, want);
}
#define REFUSE(method, target, http, needle) refuse_line(__LINE__, method, target, http, needle)

static void ok_line(int line, const char *method, const char *target, route_kind kind)
{
    zs_status st = req(method, target);
    if (st != ZS_OK || r.kind != kind) {
        fprintf(stderr, "%s:%d: %s %.200s: expected %s, got %s (%d) \"%s\"\n", __FILE__, line,
                method, target, route_kind_name(kind), route_kind_name(r.kind), r.http_status,
                e.msg);
        test_failures++;
    }
}
#define OK(method, target, kind) ok_line(__LINE__, method, target, kind)

/* A string of n copies of c after prefix, in buf. */
static const char *repeat(char *buf, size_t size, const char *prefix, char c, size_t n,
                          const char *suffix)
{
    size_t p = strlen(prefix), s = strlen(suffix);
    if (p + n + s + 1 > size) return "";
    memcpy(buf, prefix, p);
    memset(buf + p, c, n);
    memcpy(buf + p + n, suffix, s + 1);
    return buf;
}

/* Appends text to the string in buf (size bytes), if it fits. */
static void append(char *buf, size_t size, const char *text)
{
    size_t n = strlen(buf), t = strlen(text);
    if (n + t < size) memcpy(buf + n, text, t + 1);
}

static void test_tiles(void)
{
    OK("GET", "/tiles/investor/14/13525/6527.png", ROUTE_TILE);
    CHECK_STR(r.style, "investor");
    CHECK_INT(r.z, 14);
    CHECK_INT(r.x, 13525);
    CHECK_INT(r.y, 6527);
    CHECK_INT(r.scale, 1);
    CHECK_INT(r.method, ROUTE_METHOD_GET);
    CHECK_STR(r.allow, "GET, HEAD, OPTIONS");

    OK("HEAD", "/tiles/kiosk/14/13525/6527@2x.png", ROUTE_TILE);
    CHECK_STR(r.style, "kiosk");
    CHECK_INT(r.scale, 2);
    CHECK_INT(r.y, 6527);
    CHECK_INT(r.method, ROUTE_METHOD_HEAD);

    OK("GET", "/tiles/a/0/0/0.png", ROUTE_TILE);
    CHECK_INT(r.z, 0);
    OK("GET", "/tiles/heat-rent_2/22/4194303/4194303.png", ROUTE_TILE);
    CHECK_STR(r.style, "heat-rent_2");
    CHECK_INT(r.z, 22);
    CHECK_INT(r.x, 4194303);
    CHECK_INT(r.y, 4194303);

    /* the query of a tile is ignored, even a malformed one */
    OK("GET", "/tiles/investor/1/1/1.png?v=3&colour=red&%zz", ROUTE_TILE);
    CHECK_INT(r.x, 1);
    /* mixed-case percent-encoding of ordinary characters is the same URL */
    OK("GET", "/ti%6Ces/inv%65stor/%31/0/1.png", ROUTE_TILE);
    CHECK_STR(r.style, "investor");
    CHECK_INT(r.z, 1);

    char buf[256];
    OK("GET", repeat(buf, sizeof buf, "/tiles/", 's', 64, "/0/0/0.png"), ROUTE_TILE);
    CHECK_INT(strlen(r.style), 64);
    REFUSE("GET", repeat(buf, sizeof buf, "/tiles/", 's', 65, "/0/0/0.png"), 400, "style name");

    REFUSE("GET", "/tiles/investor/23/0/0.png", 400, "z 23 is out of range 0-22");
    REFUSE("GET", "/tiles/investor/99999999999999999999/0/0.png", 400,
           "z 99999999999999999999 is out of range 0-22");
    REFUSE("GET", "/tiles/investor/3/8/0.png", 400, "x 8 is out of range 0-7 at zoom 3");
    REFUSE("GET", "/tiles/investor/3/0/8.png", 400, "y 8 is out of range 0-7 at zoom 3");
    REFUSE("GET", "/tiles/investor/0/1/0.png", 400, "x 1 is out of range 0-0 at zoom 0");
    REFUSE("GET", "/tiles/investor/22/4194304/0.png", 400, "out of range 0-4194303");
    REFUSE("GET", "/tiles/investor/22/0/18446744073709551616.png", 400, "out of range");
    REFUSE("GET", "/tiles/investor/22/0/99999999999999999999999999999999.png", 400, "out of range");
    REFUSE("GET", "/tiles/investor/014/0/0.png", 400, "z '014' is not a plain decimal number");
    REFUSE("GET", "/tiles/investor/00/0/0.png", 400, "z '00' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3/01/0.png", 400, "x '01' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/+3/0/0.png", 400, "z '+3' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/-3/0/0.png", 400, "z '-3' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/%203/0/0.png", 400, "z ' 3' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3%20/0/0.png", 400, "z '3 ' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/0x3/0/0.png", 400, "z '0x3' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3.0/0/0.png", 400, "z '3.0' is not a plain decimal");
    REFUSE("GET", "/tiles/investor//0/0.png", 400, "z '' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3/0/.png", 400, "y '' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3/0/-0.png", 400, "y '-0' is not a plain decimal");
    REFUSE("GET", "/tiles/investor/3/0/1@3x.png", 400, "tile scale '@3x' is not supported");
    REFUSE("GET", "/tiles/investor/3/0/1@2x@2x.png", 400, "tile scale '@2x@2x'");
    REFUSE("GET", "/tiles/investor/3/0/1@2.png", 400, "tile scale '@2'");
    REFUSE("GET", "/tiles/investor/3/0/1.jpg", 404, "'1.jpg' does not end in .png");
    REFUSE("GET", "/tiles/investor/3/0/1.PNG", 404, "does not end in .png");
    REFUSE("GET", "/tiles/investor/3/0", 404, "no route for the path '/tiles/investor/3/0'");
    REFUSE("GET", "/tiles/investor/3/0/1/2.png", 404, "no route");
    REFUSE("GET", "/tiles/investor", 404, "no route");
    REFUSE("GET", "/tiles/Investor/3/0/1.png", 400, "style name 'Investor' is not 1-64");
    REFUSE("GET", "/tiles/in%2Fvestor/3/0/1.png", 400, "style name 'in/vestor'");
    REFUSE("GET", "/tiles/%2e%2e/3/0/1.png", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/tiles/%E5%9B%AD/3/0/1.png", 400, "style name '园'");
    REFUSE("GET", "/tiles/a%C0%AF/3/0/1.png", 400, "style name 'a\\xC0\\xAF'");

    OK("GET", "/tiles/staff.json", ROUTE_TILEJSON);
    CHECK_STR(r.style, "staff");
    OK("GET", "/tiles/staff.json?access_token=x", ROUTE_TILEJSON);
    REFUSE("GET", "/tiles/.json", 400, "style name ''");
    REFUSE("GET", "/tiles/Staff.json", 400, "style name 'Staff'");
    REFUSE("GET", "/tiles/staff.xml", 404, "no route");

    OK("GET", "/wmts/1.0.0/WMTSCapabilities.xml", ROUTE_WMTS_CAPABILITIES);
    OK("GET", "/wmts/1.0.0/WMTSCapabilities.xml?service=WMTS&request=GetCapabilities&version=1.0.0",
       ROUTE_WMTS_CAPABILITIES);
    REFUSE("GET", "/wmts/1.0.0/wmtscapabilities.xml", 404, "no route");
    REFUSE("GET", "/wmts/1.0.1/WMTSCapabilities.xml", 404, "no route");
}

static void test_heat(void)
{
    OK("GET", "/heat/rent/3/7/7@2x.png?kind=factory&min_area=500", ROUTE_HEAT);
    CHECK_INT(r.metric, ROUTE_METRIC_RENT);
    CHECK_STR(route_metric_name(r.metric), "rent");
    CHECK_INT(r.z, 3);
    CHECK_INT(r.x, 7);
    CHECK_INT(r.y, 7);
    CHECK_INT(r.scale, 2);
    CHECK_INT(r.filter.kinds, 1u << 3); /* park, parcel, building, factory */
    CHECK_NEAR(r.filter.min_area_m2, 500, 0);
    CHECK(isnan(r.filter.max_rent_yuan_m2_month));
    carrier_filter f = filter_none();
    bool known;
    CHECK_INT(filter_set(&f, "kind", "factory", &known, NULL), ZS_OK);
    CHECK_INT(filter_set(&f, "min_area", "500", &known, NULL), ZS_OK);
    char key[ROUTE_FILTER_KEY_MAX];
    filter_canonical(&f, key, sizeof key);
    CHECK_STR(r.filter_key, key);
    CHECK(r.filter_key[0] != '\0');

    /* the same filter written differently is the same cache key */
    OK("GET", "/heat/rent/3/7/7@2x.png?min_area=500.0&&kind=%66actory&", ROUTE_HEAT);
    CHECK_STR(r.filter_key, key);

    const char *metrics[] = {"available_area", "vacancy", "rent", "enterprises", "tax"};
    for (int i = 0; i < 5; i++) {
        char path[128];
        snprintf(path, sizeof path, "/heat/%s/0/0/0.png", metrics[i]);
        OK("GET", path, ROUTE_HEAT);
        CHECK_INT(r.metric, i);
        CHECK_STR(route_metric_name(r.metric), metrics[i]);
        CHECK_STR(r.filter_key, "");
        CHECK(filter_is_empty(&r.filter));
    }

    OK("GET",
       "/heat/vacancy/14/13525/6527.png?kind=building,factory&land_use=industrial&status=available"
       "&industry=semiconductor,medical&park=P-01&min_area=1000&max_rent=30.5&min_clear_height=8",
       ROUTE_HEAT);
    CHECK_INT(r.filter.kinds, (1u << 2) | (1u << 3));
    CHECK_INT(r.filter.land_uses, 1u << 0);
    CHECK_INT(r.filter.statuses, 1u << 0);
    CHECK_INT(r.filter.industries, (1u << 0) | (1u << 2));
    CHECK_STR(r.filter.park, "P-01");
    CHECK_NEAR(r.filter.max_rent_yuan_m2_month, 30.5, 0);
    CHECK_NEAR(r.filter.min_clear_height_m, 8, 0);

    REFUSE("GET", "/heat/price/3/0/0.png", 404, "unknown heat metric 'price'");
    REFUSE("GET", "/heat/Rent/3/0/0.png", 404, "unknown heat metric 'Rent'");
    REFUSE("GET", "/heat/rent/23/0/0.png", 400, "z 23 is out of range 0-22");
    REFUSE("GET", "/heat/rent/3/0/0.png?colour=red", 400, "unknown parameter 'colour'");
    REFUSE("GET", "/heat/rent/3/0/0.png?colour=red", 400, "accepted: kind, land_use");
    REFUSE("GET", "/heat/rent/3/0/0.png?q=factory", 400, "unknown parameter 'q'");
    REFUSE("GET", "/heat/rent/3/0/0.png?limit=5", 400, "unknown parameter 'limit'");
    REFUSE("GET", "/heat/rent/3/0/0.png?kind=castle", 400,
           "parameter kind: 'castle' is not one of park, parcel, building, factory");
    REFUSE("GET", "/heat/rent/3/0/0.png?kind=factory&kind=building", 400,
           "parameter 'kind' is repeated");
    REFUSE("GET", "/heat/rent/3/0/0.png?min_area=-5", 400,
           "parameter min_area: '-5' is not a non-negative number");
    REFUSE("GET", "/heat/rent/3/0/0.png?kind=", 400, "parameter kind: empty value");
    REFUSE("GET", "/heat/rent/3/0/0.png?kind", 400, "parameter kind: empty value");
    REFUSE("GET", "/heat/rent/3/0/0.png?park=P%0A01", 400, "is not valid UTF-8 text");
}

static void test_carriers(void)
{
    OK("GET", "/api/carriers", ROUTE_CARRIERS);
    CHECK(!r.has_bbox);
    CHECK_INT(r.limit, 100);
    CHECK_INT(r.offset, 0);
    CHECK_INT(r.format, ROUTE_FORMAT_JSON);
    CHECK_STR(r.q, "");
    CHECK_STR(r.filter_key, "");

    OK("GET",
       "/api/carriers?bbox=117.1,34.2,117.3,34.4&kind=factory&land_use=industrial,mixed"
       "&status=available,reserved&industry=electronics&park=P-01&min_area=1000&max_rent=30"
       "&min_clear_height=8&q=%E5%8E%82%E6%88%BF+A%2B&limit=50&offset=100&format=geojson",
       ROUTE_CARRIERS);
    CHECK(r.has_bbox);
    CHECK_NEAR(r.bbox.west, 117.1, 0);
    CHECK_NEAR(r.bbox.south, 34.2, 0);
    CHECK_NEAR(r.bbox.east, 117.3, 0);
    CHECK_NEAR(r.bbox.north, 34.4, 0);
    CHECK_INT(r.filter.kinds, 1u << 3);
    CHECK_INT(r.filter.land_uses, (1u << 0) | (1u << 3));
    CHECK_INT(r.filter.statuses, (1u << 0) | (1u << 1));
    CHECK_INT(r.filter.industries, 1u << 1);
    CHECK_STR(r.filter.park, "P-01");
    CHECK_NEAR(r.filter.min_area_m2, 1000, 0);
    CHECK_NEAR(r.filter.max_rent_yuan_m2_month, 30, 0);
    CHECK_NEAR(r.filter.min_clear_height_m, 8, 0);
    CHECK_STR(r.q, "厂房 A+");
    CHECK_INT(r.limit, 50);
    CHECK_INT(r.offset, 100);
    CHECK_INT(r.format, ROUTE_FORMAT_GEOJSON);
    CHECK(r.filter_key[0] != '\0');

    OK("GET", "/api/carriers?bbox=-180,-90,-178,-88&limit=1000&offset=100000&format=json",
       ROUTE_CARRIERS);
    CHECK_NEAR(r.bbox.west, -180, 0);
    CHECK_INT(r.limit, 1000);
    CHECK_INT(r.offset, 100000);
    OK("GET", "/api/carriers?bbox=117,34,119,36&limit=1&offset=0", ROUTE_CARRIERS);
    CHECK_NEAR(r.bbox.north, 36, 0);
    CHECK_INT(r.limit, 1);
    OK("GET", "/api/carriers?bbox=1e-7,0.5,1.5,2.5", ROUTE_CARRIERS); /* JavaScript prints 1e-7 */
    CHECK_NEAR(r.bbox.west, 1e-7, 0);
    OK("GET", "/api/carriers?q=", ROUTE_CARRIERS);
    CHECK_STR(r.q, "");

    char buf[600];
    OK("GET", repeat(buf, sizeof buf, "/api/carriers?q=", 'a', 100, ""), ROUTE_CARRIERS);
    CHECK_INT(strlen(r.q), 100);
    REFUSE("GET", repeat(buf, sizeof buf, "/api/carriers?q=", 'a', 101, ""), 400,
           "parameter q: 101 bytes, at most 100");
    /* 34 UTF-8 characters of 3 bytes: 102 bytes */
    char zh[400] = "/api/carriers?q=";
    for (int i = 0; i < 34; i++)
        append(zh, sizeof zh, "%E5%8E%82");
    REFUSE("GET", zh, 400, "parameter q: 102 bytes, at most 100");

    REFUSE("GET", "/api/carriers?limit=5000", 400, "parameter limit: '5000' is above 1000");
    REFUSE("GET", "/api/carriers?limit=1001", 400, "parameter limit: '1001' is above 1000");
    REFUSE("GET", "/api/carriers?limit=0", 400, "parameter limit: '0' is below 1");
    REFUSE("GET", "/api/carriers?limit=-1", 400, "parameter limit: '-1' is not a plain decimal");
    REFUSE("GET", "/api/carriers?limit=%2B5", 400, "parameter limit: '+5' is not a plain decimal");
    REFUSE("GET", "/api/carriers?limit=+5", 400, "parameter limit: ' 5' is not a plain decimal");
    REFUSE("GET", "/api/carriers?limit=05", 400, "parameter limit: '05' is not a plain decimal");
    REFUSE("GET", "/api/carriers?limit=5.0", 400, "parameter limit: '5.0' is not a plain");
    REFUSE("GET", "/api/carriers?limit=", 400, "parameter limit: empty value");
    REFUSE("GET", "/api/carriers?limit=99999999999999999999999", 400,
           "parameter limit: '99999999999999999999999' is above 1000");
    REFUSE("GET", "/api/carriers?offset=100001", 400, "parameter offset: '100001' is above");
    REFUSE("GET", "/api/carriers?format=xml", 400, "parameter format: 'xml' is not one of json");
    REFUSE("GET", "/api/carriers?format=JSON", 400, "parameter format: 'JSON'");
    REFUSE("GET", "/api/carriers?colour=red", 400, "unknown parameter 'colour' for /api/carriers");
    REFUSE("GET", "/api/carriers?colour=red", 400,
           "accepted: bbox, q, limit, offset, format, kind");
    REFUSE("GET", "/api/carriers?Limit=5", 400, "unknown parameter 'Limit'");
    REFUSE("GET", "/api/carriers?lon=1", 400, "unknown parameter 'lon'");
    REFUSE("GET", "/api/carriers?=5", 400, "unknown parameter ''");
    /* found by fuzzing: a control character in a name went into the message */
    REFUSE("GET", "/api/carriers?bbox%11x=", 400, "unknown parameter 'bbox\\x11x'");
    REFUSE("GET", "/api/carriers?KIND=factory", 400, "unknown parameter 'KIND'");
    REFUSE("GET", repeat(buf, sizeof buf, "/api/carriers?", 'n', 200, "=1"), 400,
           "unknown parameter 'nnnn");
    REFUSE("GET", "/api/carriers?limit=5&limit=5", 400, "parameter 'limit' is repeated");
    REFUSE("GET", "/api/carriers?limit=5&li%6Dit=6", 400, "parameter 'limit' is repeated");
    REFUSE("GET", "/api/carriers?q=a&q=b", 400, "parameter 'q' is repeated");
    REFUSE("GET", "/api/carriers?q=%C0%AF", 400, "parameter q: '\\xC0\\xAF' is not valid UTF-8");
    REFUSE("GET", "/api/carriers?q=%ED%A0%80", 400, "is not valid UTF-8");    /* a surrogate */
    REFUSE("GET", "/api/carriers?q=%F4%90%80%80", 400, "is not valid UTF-8"); /* > U+10FFFF */
    REFUSE("GET", "/api/carriers?q=%E5%8E", 400, "is not valid UTF-8");       /* cut short */
    REFUSE("GET", "/api/carriers?q=a%0Ab", 400, "parameter q: 'a\\x0Ab' is not valid UTF-8");
    REFUSE("GET", "/api/carriers?q=a%C2%85b", 400, "is not valid UTF-8"); /* C1 control NEL */
    REFUSE("GET", "/api/carriers?q=a%7Fb", 400, "is not valid UTF-8");
    REFUSE("GET", "/api/carriers?q=a%00b", 400, "parameter q: a NUL byte (%00) is not allowed");
    REFUSE("GET", "/api/carriers?q=a%0", 400, "parameter q: bad percent-encoding '%0'");
    REFUSE("GET", "/api/carriers?q=100%", 400, "parameter q: bad percent-encoding '%'");
    REFUSE("GET", "/api/carriers?q=%zz", 400, "bad percent-encoding '%zz'");
    REFUSE("GET", "/api/carriers?q%zz=1", 400, "parameter name: bad percent-encoding");
    REFUSE("GET", "/api/carriers?q=a b", 400, "byte 0x20 at offset 3 that must be percent-encoded");
    REFUSE("GET", "/api/carriers?q=\xE5\x8E\x82", 400, "byte 0xE5 at offset 2");
    REFUSE("GET", "/api/carriers?q=a#b", 400, "byte 0x23");
    REFUSE("GET", "/api/carriers?kind=castle", 400, "parameter kind: 'castle' is not one of");
    REFUSE("GET", "/api/carriers?land_use=farm", 400, "parameter land_use: 'farm' is not one of");
    REFUSE("GET", "/api/carriers?status=sold", 400, "parameter status: 'sold'");
    REFUSE("GET", "/api/carriers?industry=mining", 400, "parameter industry: 'mining'");
    REFUSE("GET", "/api/carriers?min_area=abc", 400,
           "parameter min_area: 'abc' is not a non-negative number");
    REFUSE("GET", "/api/carriers?max_rent=inf", 400, "parameter max_rent: 'inf'");
    REFUSE("GET", "/api/carriers?min_clear_height=nan", 400, "parameter min_clear_height: 'nan'");
    REFUSE("GET", repeat(buf, sizeof buf, "/api/carriers?park=", 'p', 64, ""), 400,
           "park: id longer than 63 bytes");
    /* a long Chinese value cut by filter.c's message: the message stays UTF-8 */
    char zhkind[600] = "/api/carriers?kind=";
    for (int i = 0; i < 30; i++)
        append(zhkind, sizeof zhkind, "%E5%8E%82");
    REFUSE("GET", zhkind, 400, "parameter kind: '厂厂");

    REFUSE("GET", "/api/carriers?bbox=1,2,3", 400, "parameter bbox: '1,2,3' is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=1,2,3,4,5", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=1,2,,4", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=a,b,c,d", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=nan,0,1,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=inf,0,1,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=1e999,0,1,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=0x1,0,1,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=+1,0,2,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=01,0,2,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=.5,0,2,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=1.,0,2,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=1%20,0,2,1", 400, "is not W,S,E,N");
    REFUSE("GET", "/api/carriers?bbox=179,0,181,1", 400,
           "parameter bbox: longitude 181 is outside");
    REFUSE("GET", "/api/carriers?bbox=0,89,1,91", 400, "parameter bbox: latitude 91 is outside");
    REFUSE("GET", "/api/carriers?bbox=2,0,1,1", 400,
           "parameter bbox: west 2 is not less than east 1");
    REFUSE("GET", "/api/carriers?bbox=1,0,1,1", 400, "west 1 is not less than east 1");
    REFUSE("GET", "/api/carriers?bbox=0,1,1,1", 400, "south 1 is not less than north 1");
    REFUSE("GET", "/api/carriers?bbox=115.5,34,119,35", 400,
           "parameter bbox: 3.5° by 1° is larger than 2° by 2°");
    REFUSE("GET", "/api/carriers?bbox=117,30,118,35", 400, "1° by 5° is larger than 2° by 2°");
    REFUSE("GET", "/api/carriers?bbox=", 400, "parameter bbox: empty value");

    /* 32 pairs are fine, 33 are not (counted before they are looked at) */
    char many[1024] = "/api/carriers?kind=factory";
    for (int i = 1; i < 32; i++)
        append(many, sizeof many, "&");
    OK("GET", many, ROUTE_CARRIERS); /* empty pairs are skipped */
    char pairs[1024] = "/api/carriers?limit=1";
    for (int i = 1; i < 32; i++)
        append(pairs, sizeof pairs, "&limit=1");
    REFUSE("GET", pairs, 400, "parameter 'limit' is repeated");
    append(pairs, sizeof pairs, "&limit=1");
    REFUSE("GET", pairs, 400, "33 query parameters, at most 32");

    OK("GET", "/api/carriers/P-01", ROUTE_CARRIER);
    CHECK_STR(r.id, "P-01");
    OK("GET", "/api/carriers/%E5%9B%AD%E5%8C%BA-1", ROUTE_CARRIER);
    CHECK_STR(r.id, "园区-1");
    OK("GET", "/api/carriers/a%2Fb+c", ROUTE_CARRIER); /* '+' is literal in a path */
    CHECK_STR(r.id, "a/b+c");
    OK("GET", repeat(buf, sizeof buf, "/api/carriers/", 'i', 64, ""), ROUTE_CARRIER);
    CHECK_INT(strlen(r.id), 64);
    REFUSE("GET", repeat(buf, sizeof buf, "/api/carriers/", 'i', 65, ""), 400,
           "carrier id is 65 bytes, at most 64");
    REFUSE("GET", "/api/carriers/", 400, "carrier id is empty");
    REFUSE("GET", "/api/carriers/%C0%AF", 400, "carrier id '\\xC0\\xAF' is not valid UTF-8");
    REFUSE("GET", "/api/carriers/a%09b", 400, "carrier id 'a\\x09b' is not valid UTF-8");
    REFUSE("GET", "/api/carriers/a%00b", 400, "path: a NUL byte (%00) is not allowed");
    REFUSE("GET", "/api/carriers/P-01?x=1", 400,
           "unknown parameter 'x' for /api/carriers/{id} (accepted: none)");
    REFUSE("GET", "/api/carriers/P-01/photos", 404, "no route");
    REFUSE("GET", "/api/carriers/..", 400, "path segment '..' is not allowed");
}

static void test_api(void)
{
    OK("GET", "/api/at?lon=117.2&lat=34.3&zoom=14.5", ROUTE_AT);
    CHECK_NEAR(r.lon, 117.2, 0);
    CHECK_NEAR(r.lat, 34.3, 0);
    CHECK_NEAR(r.zoom, 14.5, 0);
    OK("GET", "/api/at?zoom=0&lat=-90&lon=-180", ROUTE_AT);
    CHECK_NEAR(r.lon, -180, 0);
    CHECK_NEAR(r.zoom, 0, 0);
    OK("GET", "/api/at?zoom=22&lat=90&lon=180", ROUTE_AT);
    CHECK_NEAR(r.zoom, 22, 0);
    REFUSE("GET", "/api/at?lon=117.2&lat=34.3", 400, "parameter zoom is required for /api/at");
    REFUSE("GET", "/api/at", 400, "parameter lon is required");
    REFUSE("GET", "/api/at?lon=117.2&zoom=3", 400, "parameter lat is required");
    REFUSE("GET", "/api/at?lon=200&lat=34.3&zoom=14", 400,
           "parameter lon: 200 is outside -180..180");
    REFUSE("GET", "/api/at?lon=117&lat=-91&zoom=14", 400, "parameter lat: -91 is outside -90..90");
    REFUSE("GET", "/api/at?lon=117&lat=34&zoom=22.5", 400, "parameter zoom: 22.5 is outside 0..22");
    REFUSE("GET", "/api/at?lon=117&lat=34&zoom=-1", 400, "parameter zoom: -1 is outside 0..22");
    REFUSE("GET", "/api/at?lon=117&lat=34&zoom=x", 400, "parameter zoom: 'x' is not a decimal");
    REFUSE("GET", "/api/at?lon=117&lat=34&zoom=", 400, "parameter zoom: empty value");
    REFUSE("GET", "/api/at?lon=117&lat=34&zoom=1&kind=factory", 400,
           "unknown parameter 'kind' for /api/at (accepted: lon, lat, zoom)");

    OK("GET", "/api/parks", ROUTE_PARKS);
    REFUSE("GET", "/api/parks?limit=5", 400, "unknown parameter 'limit' for /api/parks");
    OK("GET", "/api/parks?", ROUTE_PARKS);
    OK("GET", "/api/parks?&&", ROUTE_PARKS);

    OK("GET", "/healthz", ROUTE_HEALTHZ);
    OK("GET", "/metrics", ROUTE_METRICS);
    OK("GET", "/metrics?anything", ROUTE_METRICS);
    OK("GET", "/", ROUTE_PAGE_INVESTOR);
    OK("GET", "/?c=117.2,34.3,14&lang=en", ROUTE_PAGE_INVESTOR);
    OK("GET", "/kiosk", ROUTE_PAGE_KIOSK);
    OK("HEAD", "/staff", ROUTE_PAGE_STAFF);
    REFUSE("GET", "/kiosk/", 404, "no route for the path '/kiosk/'");
    REFUSE("GET", "/index.html", 404, "no route");
    REFUSE("GET", "//", 404, "no route");
    REFUSE("GET", "/nope", 404, "no route for the path '/nope'");
    REFUSE("GET", "/api", 404, "no route");
    REFUSE("GET", "/api/", 404, "no route");
    REFUSE("GET", "/api/nope", 404, "no route");
}

static void test_files(void)
{
    OK("GET", "/photos/0123456789abcdef.jpg", ROUTE_PHOTO);
    CHECK_STR(r.photo, "0123456789abcdef.jpg");
    OK("GET", "/photos/0123456789abcdef.thumb.jpg?v=2", ROUTE_PHOTO);
    CHECK_STR(r.photo, "0123456789abcdef.thumb.jpg");
    char buf[300];
    OK("GET", repeat(buf, sizeof buf, "/photos/", 'p', 128, ""), ROUTE_PHOTO);
    REFUSE("GET", repeat(buf, sizeof buf, "/photos/", 'p', 129, ""), 400, "photo name 'ppp");
    REFUSE("GET", "/photos/../store.sqlite", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/photos/%2e%2e", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/photos/%2E%2e", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/photos/.", 400, "path segment '.' is not allowed");
    REFUSE("GET", "/photos/..%2Fstore.sqlite", 400, "photo name '../store.sqlite'");
    REFUSE("GET", "/photos/a%2Fb.jpg", 400, "photo name 'a/b.jpg' is not 1-128 characters");
    REFUSE("GET", "/photos/a%5Cb.jpg", 400, "photo name 'a\\b.jpg'");
    REFUSE("GET", "/photos/.hidden", 400, "photo name '.hidden'");
    REFUSE("GET", "/photos/a..b.jpg", 400, "photo name 'a..b.jpg'");
    REFUSE("GET", "/photos/%C0%AE%C0%AE", 400, "photo name '\\xC0\\xAE\\xC0\\xAE'");
    REFUSE("GET", "/photos/", 400, "photo name ''");
    REFUSE("GET", "/photos/a/b.jpg", 404, "photo names are flat");
    REFUSE("GET", "/photos", 404, "no route");

    OK("GET", "/static/leaflet/leaflet.js", ROUTE_STATIC);
    CHECK_STR(r.static_path, "leaflet/leaflet.js");
    OK("GET", "/static/leaflet/images/marker-icon-2x.png", ROUTE_STATIC);
    CHECK_STR(r.static_path, "leaflet/images/marker-icon-2x.png");
    OK("GET", "/static/app.css?v=1", ROUTE_STATIC);
    CHECK_STR(r.static_path, "app.css");
    REFUSE("GET", "/static/../zsmap.conf", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/static/a/%2e%2e/b", 400, "path segment '..' is not allowed");
    REFUSE("GET", "/static/.git/config", 400, "static path segment '.git'");
    REFUSE("GET", "/static/a%2F..%2Fb", 400, "static path segment 'a/../b'");
    REFUSE("GET", "/static/", 400, "static path segment ''");
    REFUSE("GET", "/static/a//b", 400, "static path segment ''");
    REFUSE("GET", "/static", 404, "no route");
    char longp[400] = "/static";
    for (int i = 0; i < 8; i++)
        append(longp, sizeof longp, "/abcdefghijklmnopqrstuvwxyz0123456789");
    REFUSE("GET", longp, 400, "static path is longer than 256 bytes");
    REFUSE("GET", "/static/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", 404,
           "no route has more than 16 path segments");
    OK("GET", "/static/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o", ROUTE_STATIC);
}

static void test_methods(void)
{
    OK("POST", "/api/login", ROUTE_LOGIN);
    CHECK_STR(r.allow, "POST, OPTIONS");
    OK("POST", "/api/logout", ROUTE_LOGOUT);
    OK("GET", "/api/leads", ROUTE_STAFF_API);
    CHECK_STR(r.staff_path, "leads");
    OK("POST", "/api/leads/17/notes?draft=1", ROUTE_STAFF_API);
    CHECK_STR(r.staff_path, "leads/17/notes");
    OK("PUT", "/api/staff/carriers/%E5%9B%AD", ROUTE_STAFF_API);
    CHECK_STR(r.staff_path, "staff/carriers/%E5%9B%AD");
    OK("DELETE", "/api/leads/17", ROUTE_STAFF_API);
    CHECK_STR(r.allow, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    REFUSE("PATCH", "/api/leads/17", 405, "method 'PATCH' is not allowed on /api/{leads,staff}");

    REFUSE("POST", "/tiles/investor/3/0/0.png", 405,
           "method 'POST' is not allowed on /tiles/{style}/{z}/{x}/{y}.png (allowed: GET, HEAD, "
           "OPTIONS)");
    CHECK_STR(r.allow, "GET, HEAD, OPTIONS");
    CHECK_INT(r.method, ROUTE_METHOD_POST);
    /* the method is checked before the parameters */
    REFUSE("POST", "/tiles/investor/99/0/0.png", 405, "method 'POST'");
    REFUSE("GET", "/api/login", 405,
           "method 'GET' is not allowed on /api/login (allowed: POST, "
           "OPTIONS)");
    CHECK_STR(r.allow, "POST, OPTIONS");
    REFUSE("HEAD", "/api/logout", 405, "method 'HEAD'");
    REFUSE("DELETE", "/api/parks", 405, "method 'DELETE' is not allowed on /api/parks");
    REFUSE("PUT", "/api/carriers/P-01", 405, "method 'PUT' is not allowed on /api/carriers/{id}");
    REFUSE("get", "/healthz", 405, "method 'get'");
    REFUSE("TRACE", "/", 405, "method 'TRACE'");
    REFUSE("G\x01T", "/", 405, "method 'G\\x01T'");
    REFUSE(NULL, "/", 405, "method ''");
    CHECK_INT(r.method, ROUTE_METHOD_OTHER);
    REFUSE("PATCH", "/nope", 404, "no route");

    /* preflight: wherever a route exists, without looking at parameters */
    OK("OPTIONS", "/api/carriers?limit=5000", ROUTE_OPTIONS);
    CHECK_INT(r.target, ROUTE_CARRIERS);
    CHECK_STR(r.allow, "GET, HEAD, OPTIONS");
    CHECK_INT(r.method, ROUTE_METHOD_OPTIONS);
    OK("OPTIONS", "/tiles/investor/99/0/0.png", ROUTE_OPTIONS);
    CHECK_INT(r.target, ROUTE_TILE);
    OK("OPTIONS", "/api/login", ROUTE_OPTIONS);
    CHECK_INT(r.target, ROUTE_LOGIN);
    CHECK_STR(r.allow, "POST, OPTIONS");
    OK("OPTIONS", "/api/leads/3", ROUTE_OPTIONS);
    CHECK_INT(r.target, ROUTE_STAFF_API);
    REFUSE("OPTIONS", "/nope", 404, "no route");
    REFUSE("OPTIONS", "/heat/price/1/0/0.png", 404, "unknown heat metric");
    REFUSE("OPTIONS", "*", 400, "the path '*' does not start with '/'");

    OK("GET", "/tiles/a/1/1/1.png", ROUTE_TILE);
    CHECK_INT(r.target, ROUTE_TILE);
}

static void test_encoding_and_limits(void)
{
    REFUSE("GET", "/tiles/a/1/%zz/1.png", 400, "path: bad percent-encoding '%zz'");
    REFUSE("GET", "/tiles/a/1/1/1%2.png", 400, "path: bad percent-encoding '%2.'");
    REFUSE("GET", "/nope%", 400, "path: bad percent-encoding '%'");
    REFUSE("GET", "/%00", 400, "path: a NUL byte (%00) is not allowed");
    REFUSE("GET", "/a%2F%00", 400, "NUL byte");
    REFUSE("GET", "tiles/a/1/1/1.png", 400, "does not start with '/'");
    REFUSE("GET", "", 400, "the path '' does not start with '/'");
    REFUSE("GET", "http://example.com/", 400, "does not start with '/'");
    REFUSE("GET", "/a b", 400, "the path has a byte 0x20 at offset 2 that must be percent-encoded");
    REFUSE("GET", "/\xE5\x9B\xAD", 400, "byte 0xE5 at offset 1");
    REFUSE("GET", "/a\x7F", 400, "byte 0x7F");
    REFUSE("GET", "/a\tb", 400, "byte 0x09");
    REFUSE("GET", "/a#b", 400, "byte 0x23");
    REFUSE("GET", "/api/carriers/%2e", 400, "path segment '.' is not allowed");
    REFUSE("GET", "/./healthz", 400, "path segment '.' is not allowed");

    /* route_parse with separate path and query */
    memset(&e, 0, sizeof e);
    CHECK_INT(route_parse("GET", "/api/carriers", "limit=7&q=a+b", &r, &e), ZS_OK);
    CHECK_INT(r.kind, ROUTE_CARRIERS);
    CHECK_INT(r.limit, 7);
    CHECK_STR(r.q, "a b");
    CHECK_INT(route_parse("GET", "/api/carriers", NULL, &r, &e), ZS_OK);
    CHECK_INT(r.limit, 100);
    CHECK_INT(route_parse("GET", "/api/carriers", "", &r, NULL), ZS_OK);
    CHECK_INT(route_parse("GET", "/api/a?b", NULL, &r, &e), ZS_EINVAL);
    CHECK(strstr(e.msg, "byte 0x3F") != NULL);
    CHECK_INT(route_parse("GET", NULL, NULL, &r, &e), ZS_EINVAL);
    CHECK_INT(r.http_status, 400);
    CHECK_INT(route_parse_target("GET", NULL, &r, NULL), ZS_EINVAL);
    CHECK_INT(route_parse("GET", "/nope", NULL, &r, NULL), ZS_ENOTFOUND);
    CHECK_INT(r.http_status, 404);

    /* sizes: 2048 bytes of path and 4096 of query are fine, one more is 414 */
    static char big[8192];
    repeat(big, sizeof big, "/static/", 'a', ROUTE_MAX_PATH - 8, "");
    CHECK_INT(strlen(big), ROUTE_MAX_PATH);
    REFUSE("GET", big, 400, "static path segment"); /* over 256 bytes, but routed */
    repeat(big, sizeof big, "/static/", 'a', ROUTE_MAX_PATH - 7, "");
    REFUSE("GET", big, 414, "the path is longer than 2048 bytes");
    CHECK_INT(route_parse("GET", big, NULL, &r, &e), ZS_ENOMEM);
    CHECK_INT(r.http_status, 414);
    repeat(big, sizeof big, "/static/", 'a', 6000, "?x=1");
    REFUSE("GET", big, 414, "the path is longer than 2048 bytes");

    repeat(big, sizeof big, "/api/carriers?q=a&bbox=1,1,2,2&x=", 'x', ROUTE_MAX_QUERY - 19, "");
    CHECK_INT(strlen(strchr(big, '?') + 1), ROUTE_MAX_QUERY);
    REFUSE("GET", big, 400, "unknown parameter 'x'");
    repeat(big, sizeof big, "/api/carriers?q=a&bbox=1,1,2,2&x=", 'x', ROUTE_MAX_QUERY - 18, "");
    REFUSE("GET", big, 414, "the query string is longer than 4096 bytes");
    repeat(big, sizeof big, "/tiles/a/0/0/0.png?", 'x', ROUTE_MAX_QUERY + 1, "");
    REFUSE("GET", big, 414, "the query string is longer than 4096 bytes");
    CHECK_INT(route_parse("GET", "/api/carriers", big + 19, &r, &e), ZS_ENOMEM);

    /* a long value is decoded whole and refused with a short message */
    repeat(big, sizeof big, "/api/carriers?kind=", 'k', 4000, "");
    REFUSE("GET", big, 400, "parameter kind: 'kkkk");
    CHECK(strlen(e.msg) < 400);
    repeat(big, sizeof big, "/nope/", 'n', 2000, "");
    REFUSE("GET", big, 404, "no route for the path '/nope/nnnn");
    CHECK(strstr(e.msg, "…") != NULL);
}

static void test_helpers(void)
{
    char out[16];
    size_t n = 99;
    zs_error err = {0};
    CHECK_INT(route_decode("a%2Fb+c", 7, true, out, sizeof out, &n, "x", &err), ZS_OK);
    CHECK_STR(out, "a/b c");
    CHECK_INT(n, 5);
    CHECK_INT(route_decode("a%2fb+c", 7, false, out, sizeof out, &n, "x", &err), ZS_OK);
    CHECK_STR(out, "a/b+c");
    CHECK_INT(route_decode("%e5%9B%ad", 9, false, out, sizeof out, &n, "x", &err), ZS_OK);
    CHECK_STR(out, "园");
    CHECK_INT(route_decode("ab%", 3, false, out, sizeof out, &n, "segment", &err), ZS_EINVAL);
    CHECK(strstr(err.msg, "segment: bad percent-encoding '%'") != NULL);
    CHECK_STR(out, "");
    CHECK_INT(route_decode("a%00", 4, false, out, sizeof out, &n, "segment", &err), ZS_EINVAL);
    CHECK(strstr(err.msg, "NUL") != NULL);
    CHECK_INT(route_decode("0123456789abcdefg", 17, false, out, sizeof out, &n, "s", &err),
              ZS_EINVAL);
    CHECK(strstr(err.msg, "longer than 15 bytes") != NULL);
    CHECK_INT(route_decode("0123456789abcde", 15, false, out, sizeof out, &n, "s", &err), ZS_OK);
    CHECK_INT(route_decode("ab", 1, false, out, sizeof out, NULL, "s", NULL), ZS_OK);
    CHECK_STR(out, "a");
    CHECK_INT(route_decode("%4", 2, false, out, sizeof out, NULL, "s", NULL), ZS_EINVAL);

    CHECK(route_text_valid("", 0));
    CHECK(route_text_valid("招商地图 A-1", strlen("招商地图 A-1")));
    CHECK(route_text_valid("\xF0\x9F\x8F\xAD", 4));  /* U+1F3ED */
    CHECK(route_text_valid("\xF4\x8F\xBF\xBF", 4));  /* U+10FFFF */
    CHECK(route_text_valid("\xC2\xA0", 2));          /* U+00A0 */
    CHECK(!route_text_valid("\xC0\xAF", 2));         /* overlong '/' */
    CHECK(!route_text_valid("\xE0\x80\xAF", 3));     /* overlong '/' */
    CHECK(!route_text_valid("\xF0\x80\x80\xAF", 4)); /* overlong '/' */
    CHECK(!route_text_valid("\xED\xA0\x80", 3));     /* surrogate */
    CHECK(!route_text_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK(!route_text_valid("\xF5\x80\x80\x80", 4));
    CHECK(!route_text_valid("\xE5\x9B", 2));     /* cut short */
    static const char cut[2] = {'\xE5', '\x9B'}; /* no NUL: ASan sees any read past it */
    CHECK(!route_text_valid(cut, sizeof cut));
    CHECK(!route_text_valid("\x80", 1));
    CHECK(!route_text_valid("\xFF", 1));
    CHECK(!route_text_valid("a\x1F", 2));
    CHECK(!route_text_valid("\x7F", 1));
    CHECK(!route_text_valid("\xC2\x9F", 2)); /* C1 */

    CHECK_STR(route_kind_name(ROUTE_TILE), "tile");
    CHECK_STR(route_kind_name(ROUTE_STAFF_API), "staff_api");
    CHECK_STR(route_kind_name((route_kind)999), "unknown");
    for (int k = 0; k < ROUTE_KIND_COUNT; k++)
        CHECK(route_kind_name((route_kind)k) != NULL);
    CHECK_STR(route_metric_name(ROUTE_METRIC_AVAILABLE_AREA), "available_area");
    CHECK_STR(route_metric_name((route_metric)-1), "unknown");
}

int main(void)
{
    test_tiles();
    test_heat();
    test_carriers();
    test_api();
    test_files();
    test_methods();
    test_encoding_and_limits();
    test_helpers();
    TEST_DONE();
}
