/* The demo district: a made-up old industrial district, generated from fixed
 * seeds so that every run writes the same files.
 *
 * Layout: a street grid (8 degrees off north) of straight roads, with primary
 * roads about 1 km apart and secondary, tertiary and minor roads between
 * them, clipped to a district boundary (a perturbed ellipse about 12 x 10 km);
 * a river crossing it (a band between two smooth curves) and three lakes, each
 * in a superblock whose inner streets are left out. The blocks between the
 * streets are cut into parcels, the parcels get buildings; 21 parks are
 * clusters of blocks. Everything is laid out in metres in a local tangent
 * plane at the centre, turned into lon/lat on the CGCS2000 ellipsoid and
 * projected to EPSG:4548 with the Krueger series.
 *
 * Randomness is a hash of what is being made (a road's key, a block's two
 * road keys...), not a running sequence, so the centre of a larger scale is
 * laid out like scale 1. */
#include "demo.h"

#include "photo.h"

#include <complex.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const demo_layers[] = {"boundary", "water",     "roads", "parks",
                                   "parcels",  "buildings", NULL};

#define PI 3.14159265358979323846
#define CENTRE_LON 117.19 /* degrees, CGCS2000 */
#define CENTRE_LAT 34.29
#define GRID_ANGLE 0.14 /* radians the street grid is turned from east/north */
#define DEMO_SCALE_MAX 100
#define NPARKS 21
#define NBOARDS 5
#define PHOTO_W 640
#define PHOTO_H 480
#define UPDATED_YEAR 2024

/* ---- randomness ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A stable 64-bit hash of a purpose tag and up to three integers. */
static uint64_t hash3(uint64_t tag, int64_t a, int64_t b, int64_t c)
{
    return mix64(mix64(mix64(tag ^ (uint64_t)a) ^ (uint64_t)b) ^ (uint64_t)c);
}

typedef struct {
    uint64_t s;
} rng;

static rng rng_at(uint64_t tag, int64_t a, int64_t b, int64_t c)
{
    return (rng){hash3(tag, a, b, c)};
}

static uint64_t rng_next(rng *r)
{
    r->s += 0x9E3779B97F4A7C15ull;
    return mix64(r->s);
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Uniform integer in [lo, hi]. */
static int rng_int(rng *r, int lo, int hi)
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* An index drawn with the given weights. */
static int rng_pick(rng *r, const double *w, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += w[i];
    double x = rng_unit(r) * sum;
    for (int i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

/* Tags that keep the hash streams of different things apart. */
enum {
    T_BOUNDARY = 1,
    T_RIVER,
    T_LINE_A,
    T_LINE_B,
    T_SUB,
    T_BLOCK,
    T_PARCEL,
    T_BUILDING,
    T_LAKE,
    T_PARK,
    T_PHOTO,
    T_NAME,
};

/* ---- coordinates: local plane -> lon/lat -> EPSG:4548 ---------------------------- */

typedef struct {
    double x, y; /* metres east and north of the centre, local tangent plane */
} pt;

typedef struct {
    double lon0, lat0;  /* radians */
    double m_per_rad_x; /* metres per radian of longitude at the centre */
    double m_per_rad_y; /* metres per radian of latitude at the centre */
    double e;           /* first eccentricity */
    double big_a;       /* rectifying radius times k0 */
    double alpha[7];    /* Krueger series, alpha[1..6] */
    double cm;          /* central meridian, radians */
} geodesy;

static void geodesy_init(geodesy *g)
{
    const double a = 6378137.0, f = 1 / 298.257222101; /* CGCS2000 */
    double e2 = f * (2 - f);
    g->e = sqrt(e2);
    g->lon0 = CENTRE_LON * PI / 180;
    g->lat0 = CENTRE_LAT * PI / 180;
    double s = sin(g->lat0), w = sqrt(1 - e2 * s * s);
    g->m_per_rad_x = a / w * cos(g->lat0);
    g->m_per_rad_y = a * (1 - e2) / (w * w * w);
    double n = f / (2 - f), n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
    g->big_a = a / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256); /* k0 = 1 */
    g->alpha[1] =
        n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800;
    g->alpha[2] =
        13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360;
    g->alpha[3] = 61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440;
    g->alpha[4] = 49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600;
    g->alpha[5] = 34729 * n5 / 80640 - 3418889 * n6 / 1995840;
    g->alpha[6] = 212378941 * n6 / 319334400;
    g->cm = 117.0 * PI / 180;
}

/* The local plane is an equirectangular map at the centre: the district is
 * defined in lon/lat through it, and only the projection below is exact. */
static void local_to_lonlat(const geodesy *g, pt p, double *lon, double *lat)
{
    *lon = g->lon0 + p.x / g->m_per_rad_x;
    *lat = g->lat0 + p.y / g->m_per_rad_y;
}

/* Transverse Mercator on the CGCS2000 ellipsoid, k0 = 1, false easting 500 km
 * (EPSG:4548), by Krueger's series to order n^6 (Karney 2011): far below a
 * millimetre within a few degrees of the central meridian. Radians in,
 * metres out. */
static void tm_forward(const geodesy *g, double lon, double lat, double *east, double *north)
{
    double lam = lon - g->cm;
    double t = sinh(asinh(tan(lat)) - g->e * atanh(g->e * sin(lat)));
    double xi = atan2(t, cos(lam));
    double eta = asinh(sin(lam) / hypot(t, cos(lam)));
    double complex z = 2 * (xi + I * eta);
    double complex c2 = 2 * ccos(z), b1 = 0, b2 = 0;
    for (int j = 6; j >= 1; j--) {
        double complex b0 = g->alpha[j] + c2 * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    double complex sum = b1 * csin(z);
    *north = g->big_a * (xi + creal(sum));
    *east = 500000.0 + g->big_a * (eta + cimag(sum));
}

/* ---- JSON output ------------------------------------------------------------------- */

#define JW_CAP (1u << 20)

/* A buffered writer of one output file; a failed write is remembered and
 * reported when the file is closed. */
typedef struct {
    FILE *f;
    char *buf;
    size_t len;
    bool failed;
    int errnum;
} jw;

static bool jw_flush(jw *w)
{
    if (w->len && !w->failed && fwrite(w->buf, 1, w->len, w->f) != w->len) {
        w->failed = true;
        w->errnum = errno;
    }
    w->len = 0;
    return !w->failed;
}

static void jw_raw(jw *w, const char *s, size_t n)
{
    if (w->len + n > JW_CAP) jw_flush(w);
    if (n > JW_CAP) {
        if (!w->failed && fwrite(s, 1, n, w->f) != n) {
            w->failed = true;
            w->errnum = errno;
        }
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

#define jw_lit(w, s) jw_raw((w), (s), sizeof(s) - 1)

static void jw_char(jw *w, char c)
{
    if (w->len + 1 > JW_CAP) jw_flush(w);
    w->buf[w->len++] = c;
}

/* A JSON string, escaped; the text is UTF-8 and passes through as is. */
static void jw_str(jw *w, const char *s)
{
    jw_char(w, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            jw_char(w, '\\');
            jw_char(w, (char)*p);
        } else if (*p < 0x20) {
            static const char hex[] = "0123456789abcdef";
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            jw_raw(w, e, sizeof e);
        } else {
            jw_char(w, (char)*p);
        }
    }
    jw_char(w, '"');
}

/* Formats n / 10^dec with dec decimals into buf, without the C library, so
 * that no locale can turn the decimal point into a comma. Returns the end. */
static char *fmt_scaled(char *buf, long long n, int dec)
{
    char tmp[32];
    int len = 0, digits = 0;
    bool neg = n < 0;
    unsigned long long u = neg ? 0ull - (unsigned long long)n : (unsigned long long)n;
    do {
        tmp[len++] = (char)('0' + u % 10);
        u /= 10;
        if (++digits == dec) tmp[len++] = '.';
    } while (u || digits <= dec);
    if (neg) *buf++ = '-';
    while (len)
        *buf++ = tmp[--len];
    *buf = '\0';
    return buf;
}

static long long pow10i(int dec)
{
    long long p = 1;
    while (dec-- > 0)
        p *= 10;
    return p;
}

/* v with dec decimals (like "%.*f" in the C locale). */
static char *fmt_fixed(char *buf, double v, int dec)
{
    if (!isfinite(v) || fabs(v) > 1e15) v = 0;
    return fmt_scaled(buf, llround(v * (double)pow10i(dec)), dec);
}

static void jw_fixed(jw *w, double v, int dec)
{
    char b[40];
    jw_raw(w, b, (size_t)(fmt_fixed(b, v, dec) - b));
}

static void jw_long(jw *w, long long v)
{
    char b[40];
    jw_raw(w, b, (size_t)(fmt_scaled(b, v, 0) - b));
}

/* The properties of one feature, written as they come; an absent value is
 * left out (GDAL reads it as null). */
typedef struct {
    jw *w;
    bool any;
} props;

static void prop_key(props *p, const char *key)
{
    if (p->any) jw_char(p->w, ',');
    p->any = true;
    jw_char(p->w, '"');
    jw_raw(p->w, key, strlen(key));
    jw_lit(p->w, "\":");
}

static void prop_str(props *p, const char *key, const char *v)
{
    if (!v || !*v) return;
    prop_key(p, key);
    jw_str(p->w, v);
}

static void prop_real(props *p, const char *key, double v, int dec)
{
    prop_key(p, key);
    jw_fixed(p->w, v, dec);
}

static void prop_int(props *p, const char *key, long long v)
{
    prop_key(p, key);
    jw_long(p->w, v);
}

/* ---- small strings ------------------------------------------------------------------ */

/* Appends printf-formatted text to buf (size len); integers and strings only,
 * reals go through fmt_fixed(). */
static void cat(char *buf, size_t len, const char *fmt, ...) ZS_PRINTF(3, 4);
static void cat(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

static void cat_fixed(char *buf, size_t len, double v, int dec)
{
    char b[40];
    fmt_fixed(b, v, dec);
    cat(buf, len, "%s", b);
}

/* A Chinese numeral for 1..999, as in road names ("经十二路"). */
static void zh_number(char *buf, size_t len, int n)
{
    static const char *const d[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    buf[0] = '\0';
    int h = n / 100, t = n / 10 % 10, o = n % 10;
    if (h) cat(buf, len, "%s百", d[h]);
    if (t) {
        if (t > 1 || h) cat(buf, len, "%s", d[t]);
        cat(buf, len, "十");
    } else if (h && o) {
        cat(buf, len, "零");
    }
    if (o) cat(buf, len, "%s", d[o]);
}

static const char *ordinal_suffix(int n)
{
    if (n % 100 >= 11 && n % 100 <= 13) return "th";
    return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}

/* ---- the fixed vocabulary -------------------------------------------------------------- */

enum { LU_INDUSTRIAL, LU_COMMERCIAL, LU_RESIDENTIAL, LU_MIXED, LU_GREEN, LU_OTHER, LU_COUNT };
static const char *const land_use_code[LU_COUNT] = {"industrial", "commercial", "residential",
                                                    "mixed",      "green",      "other"};

enum { IND_SEMI = 1, IND_ELEC = 2, IND_MED = 4, IND_COMM = 8 };
static const char *const industry_code[] = {"semiconductor", "electronics", "medical", "commerce"};
static const char *const industry_zh[] = {"半导体装备及先进封测", "电子信息与数字经济",
                                          "智能医疗器械", "现代商贸与商务服务"};
static const char *const industry_en[] = {
    "semiconductor equipment and advanced packaging and testing",
    "electronics and the digital economy", "smart medical devices",
    "modern commerce and business services"};

enum { ST_AVAILABLE, ST_RESERVED, ST_LEASED, ST_BUILDING };
static const char *const status_code[] = {"available", "reserved", "leased", "under_construction"};

typedef struct {
    const char *zh, *en, *code; /* code: letters of parcel numbers */
    double land_use[LU_COUNT];  /* weights of the blocks' land use */
} board_def;

/* The district's sub-districts and zones ("boards"): the old town in the
 * middle, four sectors around it. */
static const board_def boards[NBOARDS] = {
    {"老城街道", "Laocheng Subdistrict", "LC", {6, 38, 20, 22, 8, 4}},
    {"经济技术开发区", "Economic and Technological Development Zone", "JK", {58, 10, 10, 12, 7, 3}},
    {"九里街道", "Jiuli Subdistrict", "JL", {40, 12, 22, 12, 8, 4}},
    {"金山街道", "Jinshan Subdistrict", "JS", {44, 11, 22, 10, 8, 4}},
    {"高新技术产业开发区", "High-tech Industrial Development Zone", "GX", {48, 15, 10, 17, 7, 3}},
};

typedef struct {
    const char *zh, *en;
    int industries; /* IND_* bits */
    int board;      /* where it would rather be */
    int w, h;       /* size in blocks */
} park_def;

static const park_def park_defs[NPARKS] = {
    {"徐庄半导体产业园", "Xuzhuang Semiconductor Industrial Park", IND_SEMI, 1, 4, 3},
    {"金山桥集成电路封测产业园", "Jinshanqiao IC Packaging and Testing Park", IND_SEMI, 1, 3, 3},
    {"九里半导体装备产业园", "Jiuli Semiconductor Equipment Park", IND_SEMI | IND_ELEC, 2, 3, 2},
    {"汉源电子信息产业园", "Hanyuan Electronic Information Industrial Park", IND_ELEC, 4, 3, 3},
    {"云龙数字经济产业园", "Yunlong Digital Economy Industrial Park", IND_ELEC | IND_COMM, 4, 3, 2},
    {"彭城软件园", "Pengcheng Software Park", IND_ELEC, 0, 2, 2},
    {"鼓楼智慧医疗器械产业园", "Gulou Smart Medical Device Park", IND_MED, 4, 3, 3},
    {"杏林医疗器械科技园", "Xinglin Medical Device Science Park", IND_MED, 3, 3, 2},
    {"和平生物医学工程产业园", "Heping Biomedical Engineering Park", IND_MED | IND_ELEC, 4, 2, 3},
    {"淮海商贸物流园", "Huaihai Trade and Logistics Park", IND_COMM, 3, 3, 2},
    {"中山路总部经济园", "Zhongshan Road Headquarters Economy Park", IND_COMM, 0, 2, 2},
    {"下淀光电子产业园", "Xiadian Optoelectronics Industrial Park", IND_ELEC | IND_SEMI, 1, 3, 3},
    {"坝山精密医疗装备产业园", "Bashan Precision Medical Equipment Park", IND_MED | IND_SEMI, 2, 3,
     2},
    {"杨庄电子元器件产业园", "Yangzhuang Electronic Components Park", IND_ELEC, 2, 2, 3},
    {"东环创意产业园", "Donghuan Creative Industries Park", IND_COMM | IND_ELEC, 0, 2, 2},
    {"九龙科创园", "Jiulong Science and Innovation Park", IND_ELEC | IND_MED, 4, 2, 2},
    {"王场传感器产业园", "Wangchang Sensor Industrial Park", IND_SEMI | IND_ELEC, 1, 3, 2},
    {"三环医疗健康产业园", "Sanhuan Medical and Health Industrial Park", IND_MED, 3, 2, 2},
    {"金驼跨境电商产业园", "Jintuo Cross-border E-commerce Park", IND_COMM, 3, 3, 2},
    {"殷庄第三代半导体产业园", "Yinzhuang Third-generation Semiconductor Park", IND_SEMI, 4, 4, 3},
    {"老东门商务服务集聚区", "Laodongmen Business Services Cluster", IND_COMM, 0, 2, 3},
};

typedef struct {
    const char *zh, *en;
} name_pair;

/* Road name stems, the best known first: the main roads near the centre
 * take them; when they run out, roads are numbered ("经三路", "纬十二路"). */
static const name_pair road_stems[] = {
    {"中山", "Zhongshan"},  {"和平", "Heping"},    {"解放", "Jiefang"},   {"淮海", "Huaihai"},
    {"建国", "Jianguo"},    {"人民", "Renmin"},    {"复兴", "Fuxing"},    {"民主", "Minzhu"},
    {"汉源", "Hanyuan"},    {"彭城", "Pengcheng"}, {"云龙", "Yunlong"},   {"黄河", "Huanghe"},
    {"长安", "Chang'an"},   {"青年", "Qingnian"},  {"工农", "Gongnong"},  {"光明", "Guangming"},
    {"友谊", "Youyi"},      {"胜利", "Shengli"},   {"文化", "Wenhua"},    {"建设", "Jianshe"},
    {"新华", "Xinhua"},     {"朝阳", "Chaoyang"},  {"东风", "Dongfeng"},  {"红旗", "Hongqi"},
    {"团结", "Tuanjie"},    {"幸福", "Xingfu"},    {"振兴", "Zhenxing"},  {"兴业", "Xingye"},
    {"创业", "Chuangye"},   {"科技", "Keji"},      {"金山", "Jinshan"},   {"银河", "Yinhe"},
    {"泰山", "Taishan"},    {"华山", "Huashan"},   {"昆仑", "Kunlun"},    {"天山", "Tianshan"},
    {"嵩山", "Songshan"},   {"庐山", "Lushan"},    {"衡山", "Hengshan"},  {"峨眉", "Emei"},
    {"长江", "Changjiang"}, {"珠江", "Zhujiang"},  {"汉江", "Hanjiang"},  {"湘江", "Xiangjiang"},
    {"漓江", "Lijiang"},    {"淮河", "Huaihe"},    {"运河", "Yunhe"},     {"太湖", "Taihu"},
    {"洪泽", "Hongze"},     {"骆马", "Luoma"},     {"微山", "Weishan"},   {"丰收", "Fengshou"},
    {"纺织", "Fangzhi"},    {"机械", "Jixie"},     {"矿山", "Kuangshan"}, {"电厂", "Dianchang"},
    {"钢厂", "Gangchang"},  {"车站", "Chezhan"},   {"桥北", "Qiaobei"},   {"下洪", "Xiahong"},
    {"杏林", "Xinglin"},    {"苏堤", "Sudi"},      {"民富", "Minfu"},     {"永安", "Yong'an"},
    {"安康", "Ankang"},     {"富民", "Fumin"},     {"兴华", "Xinghua"},   {"金桥", "Jinqiao"},
    {"银杏", "Yinxing"},    {"梧桐", "Wutong"},    {"玉带", "Yudai"},     {"鼓楼", "Gulou"},
    {"钟楼", "Zhonglou"},   {"牌楼", "Pailou"},    {"马市", "Mashi"},     {"盐店", "Yandian"},
    {"大同", "Datong"},     {"少华", "Shaohua"},   {"奎河", "Kuihe"},     {"快哉", "Kuaizai"},
    {"燕子", "Yanzi"},      {"戏马", "Xima"},      {"花园", "Huayuan"},   {"育才", "Yucai"},
};
#define NSTEMS (sizeof road_stems / sizeof road_stems[0])

static const name_pair office_stems[] = {
    {"创新", "Chuangxin"}, {"科技", "Keji"},      {"汇金", "Huijin"},   {"信达", "Xinda"},
    {"恒泰", "Hengtai"},   {"嘉华", "Jiahua"},    {"金鼎", "Jinding"},  {"中天", "Zhongtian"},
    {"锦绣", "Jinxiu"},    {"宏图", "Hongtu"},    {"盛世", "Shengshi"}, {"鸿运", "Hongyun"},
    {"智谷", "Zhigu"},     {"云谷", "Yungu"},     {"数字", "Shuzi"},    {"时代", "Shidai"},
    {"环球", "Huanqiu"},   {"星光", "Xingguang"}, {"银座", "Yinzuo"},   {"淮海", "Huaihai"},
    {"彭城", "Pengcheng"}, {"泰和", "Taihe"},     {"华夏", "Huaxia"},   {"百盛", "Baisheng"},
};
#define NOFFICE_STEMS (sizeof office_stems / sizeof office_stems[0])

static const name_pair office_kinds[] = {
    {"大厦", "Tower"}, {"中心", "Center"}, {"广场", "Plaza"}, {"科技楼", "Technology Building"}};

static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
                                       "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗"};
static const char *const titles[] = {"经理", "主任", "女士", "先生", "科长"};

/* ---- geometry ---------------------------------------------------------------------- */

/* A growable list of points (local plane metres). */
typedef struct {
    pt *p;
    size_t n, cap;
} ptlist;

static bool pts_push(ptlist *l, pt p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        pt *q = realloc(l->p, cap * sizeof *q);
        if (!q) return false;
        l->p = q;
        l->cap = cap;
    }
    l->p[l->n++] = p;
    return true;
}

static double ring_area(const pt *p, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        const pt *a = &p[i], *b = &p[(i + 1) % n];
        s += (a->x - p[0].x) * (b->y - p[0].y) - (b->x - p[0].x) * (a->y - p[0].y);
    }
    return s / 2;
}

static void ring_reverse(pt *p, size_t n)
{
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        pt t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

static double cross3(pt o, pt a, pt b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* Drops points closer than 5 cm to the one before and points on a straight
 * line between their neighbours; returns the new count. */
static size_t ring_simplify(pt *p, size_t n)
{
    bool changed = true;
    while (changed && n >= 3) {
        changed = false;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            pt prev = m ? p[m - 1] : p[n - 1], next = p[(i + 1) % n];
            double dx = p[i].x - prev.x, dy = p[i].y - prev.y;
            double len = hypot(next.x - prev.x, next.y - prev.y);
            if (dx * dx + dy * dy < 0.0025 || fabs(cross3(prev, p[i], next)) < 1e-3 * len) {
                changed = true;
                continue;
            }
            p[m++] = p[i];
        }
        n = m;
    }
    return n;
}

static bool seg_cross(pt a, pt b, pt c, pt d)
{
    double d1 = cross3(c, d, a), d2 = cross3(c, d, b), d3 = cross3(a, b, c), d4 = cross3(a, b, d);
    return ((d1 > 0) != (d2 > 0)) && ((d3 > 0) != (d4 > 0)) && d1 != 0 && d2 != 0 && d3 != 0 &&
           d4 != 0;
}

/* True when the ring has at least 3 points and no two edges that are not
 * neighbours touch or cross. */
static bool ring_simple(const pt *p, size_t n)
{
    if (n < 3) return false;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1) continue;
            if (seg_cross(p[i], p[(i + 1) % n], p[j], p[(j + 1) % n])) return false;
        }
    }
    return true;
}

/* ---- the district's shapes ------------------------------------------------------------- */

enum { RC_PRIMARY, RC_SECONDARY, RC_TERTIARY, RC_MINOR };
static const char *const road_class_code[] = {"primary", "secondary", "tertiary", "minor"};
static const double road_half_width[] = {25, 18, 13, 9}; /* centreline to block edge, m */

/* A street grid line in the grid frame (p east-ish, q north-ish, metres):
 * family A is p = a + s q, family B is q = a + s p. */
typedef struct {
    double a, s;
    int cls;       /* RC_* */
    int key;       /* stable over scales: primary index * 8 + sub-line */
    int name;      /* index into the district's names, -1 when unnamed */
    double lo, hi; /* extent of its road runs along the line (other coordinate) */
    int nruns;
} gline;

typedef struct {
    char zh[48], en[64];
} road_name;

typedef struct {
    int ia, ib, ja, jb; /* lines bounding the superblock, ia < ib, ja < jb */
    const char *zh, *en;
    ptlist ring; /* the lake's shore, local plane */
} lake;

typedef struct {
    const park_def *def;
    int ia, ib, ja, jb; /* bounding lines */
    int cut_i, cut_j;   /* a corner of cells left out: lines at which it starts */
    int cut_corner;     /* 0 none, 1 (+p,+q), 2 (-p,+q), 3 (-p,-q), 4 (+p,-q) */
    pt centre;          /* local plane */
    int board;
    char contact_name[32], contact_phone[32];
    int factories, offices; /* numbering of its buildings */
    bool office_photo, factory_photo;
} park;

typedef struct {
    double sq;    /* sqrt(scale): how much the boundary grows */
    double reach; /* half extent of the area worked on, m */
    geodesy geo;
    double cg, sg; /* cosine and sine of the grid angle */

    double bamp[16], bph[16]; /* boundary harmonics */
    double rmin1;             /* smallest radius of the scale-1 boundary */

    double rv_cos, rv_sin; /* river frame */
    double rv_amp[3], rv_len[3], rv_ph[3], rv_v0, rv_wph;

    gline *A, *B;
    int nA, nB;
    signed char *owner_kind; /* per cell (nA - 1) x (nB - 1): 0, 1 park, 2 lake */
    unsigned char *owner;    /* index of the park or lake */

    road_name *names;
    int nnames;
    int next_stem;
    int jing, wei; /* numbered road counters */

    lake lakes[3];
    int nlakes;
    park parks[NPARKS];
    int nparks;

    int board_parcels[NBOARDS];
    long parcels, buildings; /* ids given so far */
    long nroads, nwater;

    jw parcels_out, buildings_out;
    ptlist scratch, clip, clip2;
    long long *mm;
    size_t mm_cap;

    const char *dir;
    zs_error *err;
    zs_status status;
} district;

/* Grid frame <-> local plane. */
static pt grid_pt(const district *d, double p, double q)
{
    return (pt){p * d->cg - q * d->sg, p * d->sg + q * d->cg};
}

static void to_grid(const district *d, pt l, double *p, double *q)
{
    *p = l.x * d->cg + l.y * d->sg;
    *q = -l.x * d->sg + l.y * d->cg;
}

/* Radius of the scale-1 boundary in direction th: a turned ellipse of 6.1
 * by 5 km with a few slow harmonics, so it reads as drawn by history. */
static double radius1(const district *d, double th)
{
    double c = cos(th - 0.25), s = sin(th - 0.25);
    double r = 1 / sqrt(c * c / (6100.0 * 6100.0) + s * s / (5000.0 * 5000.0));
    double k = 1;
    for (int i = 2; i < 16; i++)
        k += d->bamp[i] * sin(i * th + d->bph[i]);
    return r * k;
}

/* True when p lies inside the boundary scaled by grow, by more than margin. */
static bool inside_boundary(const district *d, pt p, double grow, double margin)
{
    double r = hypot(p.x, p.y);
    if (r + margin < d->rmin1 * grow * 0.999) return true;
    return r + margin < radius1(d, atan2(p.y, p.x)) * grow;
}

/* River: in its frame (u along the flow, v across), the centre line is
 * v = f(u) and the water lies within hw(u) of it, measured along v. */
static double river_f(const district *d, double u)
{
    double v = d->rv_v0;
    for (int i = 0; i < 3; i++)
        v += d->rv_amp[i] * sin(2 * PI * u / d->rv_len[i] + d->rv_ph[i]);
    return v;
}

static double river_hw(const district *d, double u)
{
    return 62 + 14 * sin(2 * PI * u / 5200 + d->rv_wph);
}

static void river_uv(const district *d, pt p, double *u, double *v)
{
    *u = p.x * d->rv_cos + p.y * d->rv_sin;
    *v = -p.x * d->rv_sin + p.y * d->rv_cos;
}

static pt river_pt(const district *d, double u, double v)
{
    return (pt){u * d->rv_cos - v * d->rv_sin, u * d->rv_sin + v * d->rv_cos};
}

/* True when p is in the water or within margin of it. */
static bool in_river(const district *d, pt p, double margin)
{
    double u, v;
    river_uv(d, p, &u, &v);
    return fabs(v - river_f(d, u)) < river_hw(d, u) + margin;
}

/* Which board (sub-district or zone) owns p: the old town within a third of
 * the way to the scale-1 boundary, four sectors around it. */
static int board_of(const district *d, pt p)
{
    double th = atan2(p.y, p.x);
    double rho = hypot(p.x, p.y) / radius1(d, th);
    if (rho < 0.34 + 0.05 * sin(3 * th)) return 0;
    double t = th + 0.18 * sin(2.3 * rho);
    if (t > PI) t -= 2 * PI;
    if (t < -PI) t += 2 * PI;
    if (t >= -0.9 && t < 0.75) return 1;
    if (t >= 0.75 && t < 2.3) return 2;
    if (t >= -2.58 && t < -0.9) return 4;
    return 3;
}

/* ---- the street grid --------------------------------------------------------------------- */

/* Point where A line a meets B line b, both offset (towards +p / +q) by oa
 * and ob metres; grid frame. */
static void cross_lines(const gline *a, double oa, const gline *b, double ob, double *p, double *q)
{
    double aa = a->a + oa * sqrt(1 + a->s * a->s), bb = b->a + ob * sqrt(1 + b->s * b->s);
    *p = (aa + a->s * bb) / (1 - a->s * b->s);
    *q = bb + b->s * *p;
}

/* Primary line k of a family: about `spacing` apart, tilted by a slope
 * that drifts slowly from line to line (amplitude tilt, `drift` radians per
 * line), so neighbours diverge by less than 0.75 % of the distance along
 * them: at scale 100 (73 km out) they still stay 300 m apart. */
static void primary_line(uint64_t tag, int k, double spacing, double tilt, double drift, double *a,
                         double *s)
{
    rng r = rng_at(tag, k, 0, 0);
    double phase = (double)(hash3(tag, 0, 1, 0) % 6283) / 1000;
    *a = k * spacing + rng_range(&r, -100, 100);
    *s = tilt * sin(k * drift + phase) + rng_range(&r, -0.001, 0.001);
}

/* Builds one family of lines: primaries and 2 to 4 lines between each pair,
 * interpolated so that they never meet; returns the count or -1. */
static int make_lines(district *d, uint64_t tag, double spacing, double tilt, double drift,
                      gline **out)
{
    int kmax = (int)ceil(d->reach / spacing) + 1;
    int cap = (2 * kmax + 1) * 6;
    gline *l = calloc((size_t)cap, sizeof *l);
    if (!l) return -1;
    int n = 0;
    for (int k = -kmax; k <= kmax; k++) {
        double a0, s0, a1, s1;
        primary_line(tag, k, spacing, tilt, drift, &a0, &s0);
        primary_line(tag, k + 1, spacing, tilt, drift, &a1, &s1);
        l[n++] = (gline){a0, s0, RC_PRIMARY, k * 8, -1, 0, 0, 0};
        if (k == kmax) break;
        rng r = rng_at(tag ^ T_SUB, k, 0, 0);
        int m = rng_int(&r, 3, 5);
        int mid = m / 2 + (m % 2 && rng_unit(&r) < 0.5 ? 1 : 0);
        for (int i = 1; i < m; i++) {
            double u = (i + rng_range(&r, -0.12, 0.12)) / m;
            int cls = i == mid ? RC_SECONDARY : rng_unit(&r) < 0.35 ? RC_TERTIARY : RC_MINOR;
            l[n++] = (gline){a0 + u * (a1 - a0), s0 + u * (s1 - s0), cls, k * 8 + i, -1, 0, 0, 0};
        }
    }
    *out = l;
    return n;
}

/* The inset corners of cell (i, j), counter-clockwise from (-p, -q), grid
 * frame: each side sits half the street's reserve away from its centre. */
static void cell_corners(const district *d, int i, int j, pt c[4])
{
    const gline *a0 = &d->A[i], *a1 = &d->A[i + 1], *b0 = &d->B[j], *b1 = &d->B[j + 1];
    double w_a0 = road_half_width[a0->cls], w_a1 = -road_half_width[a1->cls];
    double w_b0 = road_half_width[b0->cls], w_b1 = -road_half_width[b1->cls];
    cross_lines(a0, w_a0, b0, w_b0, &c[0].x, &c[0].y);
    cross_lines(a1, w_a1, b0, w_b0, &c[1].x, &c[1].y);
    cross_lines(a1, w_a1, b1, w_b1, &c[2].x, &c[2].y);
    cross_lines(a0, w_a0, b1, w_b1, &c[3].x, &c[3].y);
}

static pt quad_centre(const pt c[4])
{
    return (pt){(c[0].x + c[1].x + c[2].x + c[3].x) / 4, (c[0].y + c[1].y + c[2].y + c[3].y) / 4};
}

static int cell_index(const district *d, int i, int j)
{
    return i * (d->nB - 1) + j;
}

/* True when cell (i, j) lies wholly inside the scale-1 boundary with margin
 * and clear of the river: where a park or lake may go. */
static bool cell_clean(const district *d, int i, int j, double margin)
{
    if (i < 0 || j < 0 || i >= d->nA - 1 || j >= d->nB - 1) return false;
    pt c[4];
    cell_corners(d, i, j, c);
    for (int k = 0; k < 4; k++) {
        pt a = c[k], b = c[(k + 1) % 4];
        int steps = (int)(hypot(b.x - a.x, b.y - a.y) / 20) + 1;
        for (int s = 0; s < steps; s++) {
            double t = (double)s / steps;
            pt l = grid_pt(d, a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t);
            if (!inside_boundary(d, l, 1, margin) || in_river(d, l, 80)) return false;
        }
    }
    pt m = quad_centre(c);
    return !in_river(d, grid_pt(d, m.x, m.y), 80);
}

/* ---- lakes and parks -------------------------------------------------------------------- */

/* The A and B line indices nearest to local point p. */
static void nearest_lines(const district *d, pt p, int *i, int *j)
{
    double gp, gq;
    to_grid(d, p, &gp, &gq);
    *i = 0;
    *j = 0;
    for (int k = 0; k < d->nA; k++)
        if (d->A[k].a + d->A[k].s * gq <= gp) *i = k;
    for (int k = 0; k < d->nB; k++)
        if (d->B[k].a + d->B[k].s * gp <= gq) *j = k;
}

static bool cells_free(const district *d, int ia, int ib, int ja, int jb, int gap)
{
    for (int i = ia - gap; i < ib + gap; i++) {
        for (int j = ja - gap; j < jb + gap; j++) {
            if (i < 0 || j < 0 || i >= d->nA - 1 || j >= d->nB - 1) return false;
            if (d->owner_kind[cell_index(d, i, j)]) return false;
        }
    }
    return true;
}

static void claim_cells(district *d, int ia, int ib, int ja, int jb, int kind, int idx)
{
    for (int i = ia; i < ib; i++) {
        for (int j = ja; j < jb; j++) {
            d->owner_kind[cell_index(d, i, j)] = (signed char)kind;
            d->owner[cell_index(d, i, j)] = (unsigned char)idx;
        }
    }
}

/* Places the lakes near fixed spots: each fills a superblock of 2 x 2 or
 * 3 x 2 blocks whose inner streets are minor ones (they are left out). */
static bool place_lakes(district *d)
{
    static const struct {
        double x, y;
        int w, h;
        const char *zh, *en;
    } want[] = {
        {900, 1100, 2, 2, "青年湖", "Qingnian Lake"},
        {-3100, -1300, 3, 2, "金龙潭", "Jinlong Pond"},
        {2600, -2500, 2, 2, "小南湖", "Xiaonan Lake"},
    };
    for (int l = 0; l < 3; l++) {
        int ci, cj;
        nearest_lines(d, (pt){want[l].x, want[l].y}, &ci, &cj);
        bool done = false;
        for (int ring = 0; ring <= 4 && !done; ring++) {
            for (int di = -ring; di <= ring && !done; di++) {
                for (int dj = -ring; dj <= ring && !done; dj++) {
                    if (abs(di) != ring && abs(dj) != ring) continue;
                    int ia = ci + di, ja = cj + dj, ib = ia + want[l].w, jb = ja + want[l].h;
                    if (ia < 0 || ja < 0 || ib >= d->nA || jb >= d->nB) continue;
                    bool ok = cells_free(d, ia, ib, ja, jb, 1);
                    for (int i = ia + 1; i < ib && ok; i++)
                        ok = d->A[i].cls >= RC_TERTIARY;
                    for (int j = ja + 1; j < jb && ok; j++)
                        ok = d->B[j].cls >= RC_TERTIARY;
                    for (int i = ia; i < ib && ok; i++)
                        for (int j = ja; j < jb && ok; j++)
                            ok = cell_clean(d, i, j, 200);
                    if (!ok) continue;
                    lake *k = &d->lakes[d->nlakes];
                    *k = (lake){ia, ib, ja, jb, want[l].zh, want[l].en, {0}};
                    claim_cells(d, ia, ib, ja, jb, 2, d->nlakes);
                    d->nlakes++;
                    done = true;
                }
            }
        }
    }
    /* the shores: a wobbly ellipse in the middle of each superblock */
    for (int l = 0; l < d->nlakes; l++) {
        lake *k = &d->lakes[l];
        double p0, q0, p1, q1;
        cross_lines(&d->A[k->ia], road_half_width[d->A[k->ia].cls], &d->B[k->ja],
                    road_half_width[d->B[k->ja].cls], &p0, &q0);
        cross_lines(&d->A[k->ib], -road_half_width[d->A[k->ib].cls], &d->B[k->jb],
                    -road_half_width[d->B[k->jb].cls], &p1, &q1);
        double cp = (p0 + p1) / 2, cq = (q0 + q1) / 2;
        double rp = (p1 - p0) * 0.34, rq = (q1 - q0) * 0.34;
        rng r = rng_at(T_LAKE, l, 0, 0);
        double amp[5], ph[5];
        for (int h = 2; h < 5; h++) {
            amp[h] = rng_range(&r, 0.03, 0.09) / (h - 1);
            ph[h] = rng_range(&r, 0, 2 * PI);
        }
        for (int s = 0; s < 120; s++) {
            double th = 2 * PI * s / 120, f = 1;
            for (int h = 2; h < 5; h++)
                f += amp[h] * sin(h * th + ph[h]);
            if (!pts_push(&k->ring, grid_pt(d, cp + rp * f * cos(th), cq + rq * f * sin(th))))
                return false;
        }
    }
    return true;
}

/* Places the 21 parks: rectangles of blocks (some with a corner left out)
 * on clean cells, in their preferred board when possible. */
static void place_parks(district *d)
{
    for (int k = 0; k < NPARKS; k++) {
        const park_def *def = &park_defs[k];
        rng r = rng_at(T_PARK, k, 0, 0);
        for (int attempt = 0; attempt < 6000; attempt++) {
            bool want_board = attempt < 4000;
            double th = rng_range(&r, -PI, PI), rho = sqrt(rng_unit(&r)) * 0.85;
            double rad = radius1(d, th) * rho;
            pt p = {rad * cos(th), rad * sin(th)};
            if (want_board && board_of(d, p) != def->board) continue;
            int ia, ja;
            nearest_lines(d, p, &ia, &ja);
            bool turn = rng_unit(&r) < 0.5;
            int w = turn ? def->h : def->w, h = turn ? def->w : def->h;
            int ib = ia + w, jb = ja + h;
            if (ib >= d->nA || jb >= d->nB || !cells_free(d, ia, ib, ja, jb, attempt < 5000))
                continue;
            bool ok = true;
            for (int i = ia; i < ib && ok; i++)
                for (int j = ja; j < jb && ok; j++)
                    ok = cell_clean(d, i, j, 150);
            if (!ok) continue;
            park *pk = &d->parks[d->nparks];
            *pk = (park){.def = def, .ia = ia, .ib = ib, .ja = ja, .jb = jb};
            claim_cells(d, ia, ib, ja, jb, 1, d->nparks);
            if (w * h >= 6 && rng_unit(&r) < 0.45) {
                /* leave out one corner cell: an L-shaped park */
                pk->cut_corner = rng_int(&r, 1, 4);
                pk->cut_i = pk->cut_corner == 1 || pk->cut_corner == 4 ? ib - 1 : ia;
                pk->cut_j = pk->cut_corner <= 2 ? jb - 1 : ja;
                d->owner_kind[cell_index(d, pk->cut_i, pk->cut_j)] = 0;
            }
            pt c[4], lo, hi;
            cell_corners(d, ia, ja, c);
            lo = c[0];
            cell_corners(d, ib - 1, jb - 1, c);
            hi = c[2];
            pk->centre = grid_pt(d, (lo.x + hi.x) / 2, (lo.y + hi.y) / 2);
            pk->board = board_of(d, pk->centre);
            rng rc = rng_at(T_PARK, k, 1, 0);
            snprintf(pk->contact_name, sizeof pk->contact_name, "%s%s",
                     surnames[rng_int(&rc, 0, 19)], rng_unit(&rc) < 0.6 ? "主任" : "经理");
            snprintf(pk->contact_phone, sizeof pk->contact_phone, "0516-8%03d%04d",
                     rng_int(&rc, 0, 999), rng_int(&rc, 0, 9999));
            d->nparks++;
            break;
        }
    }
}

/* ---- road names ------------------------------------------------------------------------ */

/* Names line l (of family A when is_a): the stems go to the lines in order
 * of their distance from the centre, so the centre of every scale has the
 * same names; once they run out, roads are numbered ("经三路" across, "纬五路"
 * along). */
static void name_line(district *d, gline *l, bool is_a)
{
    road_name *nm = &d->names[d->nnames];
    rng r = rng_at(T_NAME, is_a, l->key, 0);
    if (d->next_stem < (int)NSTEMS) {
        const name_pair *stem = &road_stems[d->next_stem++];
        const char *zh = "路", *en = "Road";
        if (l->cls == RC_PRIMARY && rng_unit(&r) < 0.5) {
            zh = "大道";
            en = "Avenue";
        } else if (l->cls == RC_MINOR) {
            bool lane = rng_unit(&r) < 0.4;
            zh = lane ? "巷" : "街";
            en = lane ? "Lane" : "Street";
        }
        snprintf(nm->zh, sizeof nm->zh, "%s%s", stem->zh, zh);
        snprintf(nm->en, sizeof nm->en, "%s %s", stem->en, en);
    } else {
        int n = is_a ? ++d->jing : ++d->wei;
        char num[32];
        zh_number(num, sizeof num, n);
        snprintf(nm->zh, sizeof nm->zh, "%s%s路", is_a ? "经" : "纬", num);
        snprintf(nm->en, sizeof nm->en, "%s %d%s Road", is_a ? "Jing" : "Wei", n,
                 ordinal_suffix(n));
    }
    l->name = d->nnames++;
}

/* ---- output of geometry ------------------------------------------------------------------- */

static bool mm_reserve(district *d, size_t n)
{
    if (n <= d->mm_cap) return true;
    size_t cap = d->mm_cap ? d->mm_cap : 1024;
    while (cap < n)
        cap *= 2;
    long long *m = realloc(d->mm, cap * sizeof *m);
    if (!m) return false;
    d->mm = m;
    d->mm_cap = cap;
    return true;
}

/* Projects points of the local plane to EPSG:4548 millimetres into d->mm
 * starting at pair index at. */
static void project(district *d, const pt *p, size_t n, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        double lon, lat, e, no;
        local_to_lonlat(&d->geo, p[i], &lon, &lat);
        tm_forward(&d->geo, lon, lat, &e, &no);
        d->mm[2 * (at + i)] = llround(e * 1000);
        d->mm[2 * (at + i) + 1] = llround(no * 1000);
    }
}

/* Area in m2 of a projected ring of n pairs at pair index at (shoelace on
 * the millimetres written, so it matches what a GIS measures). */
static double mm_area(const district *d, size_t at, size_t n)
{
    const long long *m = d->mm + 2 * at;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = (i + 1) % n;
        double ax = (double)(m[2 * i] - m[0]), ay = (double)(m[2 * i + 1] - m[1]);
        double bx = (double)(m[2 * j] - m[0]), by = (double)(m[2 * j + 1] - m[1]);
        s += ax * by - bx * ay;
    }
    return fabs(s) / 2e6;
}

static void jw_coord(jw *w, const long long *m)
{
    char b[64], *e;
    b[0] = '[';
    e = fmt_scaled(b + 1, m[0], 3);
    *e++ = ',';
    e = fmt_scaled(e, m[1], 3);
    *e++ = ']';
    jw_raw(w, b, (size_t)(e - b));
}

/* Writes n projected pairs at index at as a closed ring (or an open line). */
static void jw_ring(jw *w, const district *d, size_t at, size_t n, bool close)
{
    jw_char(w, '[');
    for (size_t i = 0; i < n; i++) {
        if (i) jw_char(w, ',');
        jw_coord(w, d->mm + 2 * (at + i));
    }
    if (close) {
        jw_char(w, ',');
        jw_coord(w, d->mm + 2 * at);
    }
    jw_char(w, ']');
}

/* A polygon of nrings rings (the first the outside, counter-clockwise; the
 * others holes, clockwise), prepared in d->mm by prepare_polygon(). */
typedef struct {
    size_t start[4], count[4];
    int nrings;
    double area; /* m2, holes taken out */
} polygon;

static bool prepare_polygon(district *d, ptlist *rings, int nrings, polygon *out)
{
    size_t total = 0;
    for (int r = 0; r < nrings; r++) {
        double a = ring_area(rings[r].p, rings[r].n);
        if ((r == 0) != (a > 0)) ring_reverse(rings[r].p, rings[r].n);
        total += rings[r].n;
    }
    if (!mm_reserve(d, 2 * total)) return false;
    size_t at = 0;
    out->nrings = nrings;
    out->area = 0;
    for (int r = 0; r < nrings; r++) {
        project(d, rings[r].p, rings[r].n, at);
        out->start[r] = at;
        out->count[r] = rings[r].n;
        double a = mm_area(d, at, rings[r].n);
        out->area += r == 0 ? a : -a;
        at += rings[r].n;
    }
    return true;
}

static void jw_polygon(jw *w, const district *d, const polygon *pg)
{
    jw_lit(w, "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[");
    for (int r = 0; r < pg->nrings; r++) {
        if (r) jw_char(w, ',');
        jw_ring(w, d, pg->start[r], pg->count[r], true);
    }
    jw_lit(w, "]}");
}

static void jw_header(jw *w, const char *layer)
{
    jw_lit(w, "{\"type\":\"FeatureCollection\",\"name\":");
    jw_str(w, layer);
    jw_lit(w, ",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":"
              "\"urn:ogc:def:crs:EPSG::4548\"}},\n\"features\":[\n");
}

static void feature_begin(jw *w, long index, props *p)
{
    if (index) jw_lit(w, ",\n");
    jw_lit(w, "{\"type\":\"Feature\",\"properties\":{");
    *p = (props){w, false};
}

static zs_status jw_open(district *d, jw *w, const char *layer)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.geojson", d->dir, layer);
    *w = (jw){0};
    w->buf = malloc(JW_CAP);
    if (!w->buf) return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    w->f = fopen(path, "wb");
    if (!w->f) {
        int e = errno;
        free(w->buf);
        *w = (jw){0};
        return zs_fail(d->err, ZS_EIO, "cannot write demo file '%s': %s", path, strerror(e));
    }
    jw_header(w, layer);
    return ZS_OK;
}

/* Ends the collection and closes the file; reports any write that failed. */
static zs_status jw_close(district *d, jw *w, const char *layer)
{
    if (!w->f) return ZS_OK;
    jw_lit(w, "\n]}\n");
    jw_flush(w);
    bool ok = !w->failed;
    int e = w->errnum;
    if (fclose(w->f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    free(w->buf);
    *w = (jw){0};
    if (!ok)
        return zs_fail(d->err, ZS_EIO, "cannot write demo file '%s/%s.geojson': %s", d->dir, layer,
                       strerror(e));
    return ZS_OK;
}

/* ---- shared properties ------------------------------------------------------------------ */

static void put_updated(props *p, uint64_t h)
{
    char b[32];
    snprintf(b, sizeof b, "%d-%02d-%02dT%02d:%02d:00Z", UPDATED_YEAR, (int)(h % 11) + 1,
             (int)((h >> 8) % 28) + 1, (int)((h >> 16) % 10) + 1, (int)((h >> 24) % 60));
    prop_str(p, "updated_at", b);
}

static void industries_list(char *buf, size_t len, int bits)
{
    buf[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (bits & (1 << i)) cat(buf, len, "%s%s", buf[0] ? "," : "", industry_code[i]);
}

static void contact(rng *r, char *name, size_t nlen, char *phone, size_t plen)
{
    snprintf(name, nlen, "%s%s", surnames[rng_int(r, 0, 19)], titles[rng_int(r, 0, 4)]);
    snprintf(phone, plen, "0516-8%03d%04d", rng_int(r, 0, 999), rng_int(r, 0, 9999));
}

/* The street number of point g (grid frame) on line l: odd on one side,
 * even on the other, rising along the line from 7 km before the centre by
 * one every 30 m (and starting again every 15 km at the larger scales). */
static int street_number(const gline *l, bool is_a, double gp, double gq)
{
    long along = (long)floor(((is_a ? gq : gp) + 7000) / 30);
    double side = is_a ? gp - (l->a + l->s * gq) : gq - (l->a + l->s * gp);
    int n = (int)((along % 500 + 500) % 500) * 2 + 1;
    return side > 0 ? n + 1 : n;
}

/* ---- parcels and buildings ------------------------------------------------------------------ */

/* What a block passes to its parcels and buildings. */
typedef struct {
    int i, j; /* cell */
    int board;
    park *pk; /* NULL outside parks */
    int pk_index;
    int industries; /* for carriers outside parks */
} block_ctx;

/* The street address of point g (grid frame) in cell (i, j): the nearest
 * named street around it and a number. */
static void street_address(const district *d, int i, int j, double gp, double gq, char *buf,
                           size_t len)
{
    const gline *best = NULL;
    bool best_a = false;
    double bd = 1e30;
    const gline *cand[4] = {&d->A[i], &d->A[i + 1], &d->B[j], &d->B[j + 1]};
    for (int k = 0; k < 4; k++) {
        const gline *l = cand[k];
        bool is_a = k < 2;
        if (l->name < 0) continue;
        double dist = is_a ? fabs(gp - (l->a + l->s * gq)) : fabs(gq - (l->a + l->s * gp));
        if (dist < bd) {
            bd = dist;
            best = l;
            best_a = is_a;
        }
    }
    if (!best) {
        snprintf(buf, len, "%s", boards[board_of(d, grid_pt(d, gp, gq))].zh);
        return;
    }
    snprintf(buf, len, "%s%d号", d->names[best->name].zh, street_number(best, best_a, gp, gq));
}

/* A parcel's address in the way land notices give it: "X路以东、Y路以北". */
static void parcel_address(const district *d, int i, int j, double gp, double gq, char *buf,
                           size_t len)
{
    buf[0] = '\0';
    const gline *a0 = &d->A[i], *a1 = &d->A[i + 1], *b0 = &d->B[j], *b1 = &d->B[j + 1];
    double da0 = fabs(gp - (a0->a + a0->s * gq)), da1 = fabs(gp - (a1->a + a1->s * gq));
    double db0 = fabs(gq - (b0->a + b0->s * gp)), db1 = fabs(gq - (b1->a + b1->s * gp));
    const gline *a = da0 <= da1 ? a0 : a1, *b = db0 <= db1 ? b0 : b1;
    if (a->name < 0) a = a == a0 ? a1 : a0;
    if (b->name < 0) b = b == b0 ? b1 : b0;
    if (a->name >= 0) cat(buf, len, "%s以%s", d->names[a->name].zh, a == a0 ? "东" : "西");
    if (b->name >= 0)
        cat(buf, len, "%s%s以%s", buf[0] ? "、" : "", d->names[b->name].zh, b == b0 ? "北" : "南");
    if (!buf[0]) snprintf(buf, len, "%s", boards[board_of(d, grid_pt(d, gp, gq))].zh);
}

/* Writes the photos of a building (1 or 2 pictures of type `type`, see
 * photo.h) and fills its photos field. */
static zs_status building_photos(district *d, const char *id, bool factory, char *field, size_t len)
{
    static const char *const office_caps[] = {"大楼外景", "楼宇正面"};
    static const char *const factory_caps[] = {"厂房外景", "厂区道路"};
    field[0] = '\0';
    rng r = rng_at(T_PHOTO, d->buildings, 7, 0);
    int n = rng_int(&r, 1, 2);
    for (int k = 0; k < n; k++) {
        char rel[64], path[4200];
        snprintf(rel, sizeof rel, "photos/%s-%d.jpg", id, k + 1);
        snprintf(path, sizeof path, "%s/%s", d->dir, rel);
        uint32_t seed = (uint32_t)(rng_next(&r) & ~3u) | (factory ? 1u : (k ? 2u : 0u));
        if (photo_make_demo(path, PHOTO_W, PHOTO_H, seed, d->err)) return d->err->status;
        cat(field, len, "%s%s|%s", k ? ";" : "", rel, factory ? factory_caps[k] : office_caps[k]);
    }
    return ZS_OK;
}

typedef struct {
    double x0, y0, x1, y1; /* grid frame rectangle */
    int cut;               /* 0, or 1..4: the corner left out of an L-shaped office */
    double cut_fx, cut_fy; /* size of the corner left out, fraction of each side */
} footprint;

/* The footprint as a ring in the local plane. */
static bool footprint_ring(district *d, const footprint *f, ptlist *ring)
{
    ring->n = 0;
    double x0 = f->x0, x1 = f->x1, y0 = f->y0, y1 = f->y1;
    if (!f->cut) {
        return pts_push(ring, grid_pt(d, x0, y0)) && pts_push(ring, grid_pt(d, x1, y0)) &&
               pts_push(ring, grid_pt(d, x1, y1)) && pts_push(ring, grid_pt(d, x0, y1));
    }
    double cx =
        f->cut == 1 || f->cut == 4 ? x1 - (x1 - x0) * f->cut_fx : x0 + (x1 - x0) * f->cut_fx;
    double cy = f->cut <= 2 ? y1 - (y1 - y0) * f->cut_fy : y0 + (y1 - y0) * f->cut_fy;
    pt v[6];
    switch (f->cut) {
    case 1: /* +p +q corner missing */
        v[0] = (pt){x0, y0}, v[1] = (pt){x1, y0}, v[2] = (pt){x1, cy}, v[3] = (pt){cx, cy},
        v[4] = (pt){cx, y1}, v[5] = (pt){x0, y1};
        break;
    case 2: /* -p +q */
        v[0] = (pt){x0, y0}, v[1] = (pt){x1, y0}, v[2] = (pt){x1, y1}, v[3] = (pt){cx, y1},
        v[4] = (pt){cx, cy}, v[5] = (pt){x0, cy};
        break;
    case 3: /* -p -q */
        v[0] = (pt){cx, y0}, v[1] = (pt){x1, y0}, v[2] = (pt){x1, y1}, v[3] = (pt){x0, y1},
        v[4] = (pt){x0, cy}, v[5] = (pt){cx, cy};
        break;
    default: /* +p -q */
        v[0] = (pt){x0, y0}, v[1] = (pt){cx, y0}, v[2] = (pt){cx, cy}, v[3] = (pt){x1, cy},
        v[4] = (pt){x1, y1}, v[5] = (pt){x0, y1};
        break;
    }
    for (int k = 0; k < 6; k++)
        if (!pts_push(ring, grid_pt(d, v[k].x, v[k].y))) return false;
    return true;
}

/* What a parcel passes to its buildings. */
typedef struct {
    const block_ctx *b;
    int land_use;
    bool building_site; /* under construction: its buildings are too */
    bool clipped;       /* cut by the boundary: buildings must stay inside */
    double quality;     /* 0..1, moves rents */
    int industries;
    char address[160];
    int number; /* of the building within the parcel */
    const name_pair *office_stem;
    const name_pair *office_kind;
} parcel_ctx;

/* Writes one building (factory or office) on footprint f. */
static zs_status write_building(district *d, parcel_ctx *pc, const footprint *f, bool factory,
                                bool admin)
{
    if (!footprint_ring(d, f, &d->scratch)) return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    if (pc->clipped) {
        for (size_t k = 0; k < d->scratch.n; k++)
            if (!inside_boundary(d, d->scratch.p[k], d->sq, 5)) return ZS_OK;
    }
    polygon pg;
    if (!prepare_polygon(d, &d->scratch, 1, &pg))
        return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    long n = d->buildings++;
    char id[16];
    snprintf(id, sizeof id, "B%07d", (int)n + 1);
    const block_ctx *b = pc->b;
    rng r = rng_at(T_BUILDING, d->A[b->i].key, d->B[b->j].key, n);
    park *pk = b->pk;
    pc->number++;

    char zh[96], en[128];
    if (factory) {
        int no = pk ? ++pk->factories : pc->number;
        snprintf(zh, sizeof zh, "%d号厂房", no);
        snprintf(en, sizeof en, "Factory No. %d", no);
    } else if (admin) {
        snprintf(zh, sizeof zh, "综合楼");
        snprintf(en, sizeof en, "Administration Building");
    } else {
        int no = pc->number - 1;
        if (pk) pk->offices++;
        snprintf(zh, sizeof zh, "%s%s%c座", pc->office_stem->zh, pc->office_kind->zh, 'A' + no % 8);
        snprintf(en, sizeof en, "%s %s %c", pc->office_stem->en, pc->office_kind->en, 'A' + no % 8);
    }

    int status;
    if (pc->building_site)
        status = ST_BUILDING;
    else
        status = rng_pick(&r, (const double[]){pk ? 42 : 30, 10, pk ? 48 : 60, 0}, 4);

    char cname[32], cphone[32];
    if (pk && rng_unit(&r) < 0.6) {
        snprintf(cname, sizeof cname, "%s", pk->contact_name);
        snprintf(cphone, sizeof cphone, "%s", pk->contact_phone);
    } else {
        contact(&r, cname, sizeof cname, cphone, sizeof cphone);
    }
    char photos[256] = "";
    if (pk && !admin && (factory ? !pk->factory_photo : !pk->office_photo)) {
        if (building_photos(d, id, factory, photos, sizeof photos)) return d->err->status;
        if (factory)
            pk->factory_photo = true;
        else
            pk->office_photo = true;
    }
    char inds[80];
    industries_list(inds, sizeof inds, pc->industries);

    jw *w = &d->buildings_out;
    props p;
    feature_begin(w, n, &p);
    prop_str(&p, "id", id);
    prop_str(&p, "kind", factory ? "factory" : "building");
    prop_str(&p, "name_zh", zh);
    prop_str(&p, "name_en", en);
    if (pk)
        prop_str(&p, "park",
                 (char[4]){'P', (char)('0' + (b->pk_index + 1) / 10),
                           (char)('0' + (b->pk_index + 1) % 10), 0});
    prop_str(&p, "board", boards[b->board].zh);
    prop_str(&p, "address", pc->address);
    prop_str(&p, "status", status_code[status]);
    prop_str(&p, "industries", inds);
    prop_str(&p, "contact_name", cname);
    prop_str(&p, "contact_phone", cphone);
    put_updated(&p, rng_next(&r));
    prop_str(&p, "photos", photos);

    double foot = pg.area;
    int floors;
    double height, gross;
    if (factory) {
        bool semi = pc->industries & IND_SEMI;
        bool single = rng_unit(&r) < (semi ? 0.7 : 0.5);
        floors = single ? 1 : rng_int(&r, 2, 4);
        double clear =
            single ? (semi ? rng_range(&r, 12, 24) : rng_range(&r, 8, 14)) : rng_range(&r, 6, 8);
        clear = round(clear * 2) / 2;
        height = single ? clear + rng_range(&r, 2, 4)
                        : clear + (floors - 1) * rng_range(&r, 4.5, 5.5) + 1.5;
        gross = foot * floors;
        double len = f->x1 - f->x0, wid = f->y1 - f->y0;
        if (wid > len) {
            double t = len;
            len = wid;
            wid = t;
        }
        double load = single ? rng_int(&r, 6, 10) * 0.5 : rng_int(&r, 2, 4) * 0.5;
        static const double kva[] = {200,  250,  315,  400,  500,  630,  800,  1000,
                                     1250, 1600, 2000, 2500, 3150, 4000, 5000, 6300};
        double need = gross *
                      (semi                        ? 0.2
                       : pc->industries & IND_ELEC ? 0.1
                                                   : 0.08) *
                      rng_range(&r, 0.7, 1.4);
        double power = kva[0];
        for (size_t k = 0; k < sizeof kva / sizeof kva[0] && kva[k] <= need; k++)
            power = kva[k];
        prop_int(&p, "floors", floors);
        prop_real(&p, "height_m", height, 1);
        prop_real(&p, "gross_area_m2", gross, 2);
        double vac = gross; /* available or being built: all of it, mostly */
        if (status == ST_LEASED)
            vac = 0;
        else if (status == ST_RESERVED || rng_unit(&r) < 0.35)
            vac = fmin(gross, round(gross * rng_range(&r, 0.2, 1) / 10) * 10);
        prop_real(&p, "vacant_area_m2", vac, 2);
        prop_real(&p, "length_m", len, 1);
        prop_real(&p, "width_m", wid, 1);
        prop_real(&p, "clear_height_m", clear, 1);
        prop_real(&p, "floor_load_t_m2", load, 1);
        prop_real(&p, "power_kva", power, 1);
        if (single && rng_unit(&r) < 0.35) {
            static const double cranes[] = {5, 10, 16, 20, 32};
            prop_real(&p, "crane_t", cranes[rng_int(&r, 0, semi ? 2 : 4)], 1);
        }
        double rent =
            (single ? rng_range(&r, 18, 35) : rng_range(&r, 12, 25)) * (0.85 + 0.2 * pc->quality);
        prop_real(&p, "rent_yuan_m2_month", rent < 12 ? 12 : rent > 35 ? 35 : rent, 1);
    } else {
        if (admin)
            floors = rng_int(&r, 3, 6);
        else if (pc->land_use == LU_COMMERCIAL)
            floors = b->board == 0 ? rng_int(&r, 10, 32) : rng_int(&r, 6, 24);
        else
            floors = rng_int(&r, 4, 14);
        height = floors * rng_range(&r, 3.6, 4.2) + rng_range(&r, 1.5, 4);
        gross = foot * floors;
        double vac = status == ST_LEASED     ? 0
                     : status == ST_BUILDING ? gross
                                             : round(gross * rng_range(&r, 0.05, 0.8));
        double rent = b->board == 0 ? rng_range(&r, 2.2, 4.5)
                      : pk          ? rng_range(&r, 1.0, 2.6)
                                    : rng_range(&r, 0.8, 3.0);
        rent *= 0.85 + 0.3 * pc->quality;
        prop_int(&p, "floors", floors);
        prop_real(&p, "height_m", height, 1);
        prop_real(&p, "gross_area_m2", gross, 2);
        prop_real(&p, "vacant_area_m2", vac, 2);
        prop_real(&p, "rent_yuan_m2_day", rent < 0.8 ? 0.8 : rent > 4.5 ? 4.5 : rent, 2);
    }
    jw_lit(w, "},");
    jw_polygon(w, d, &pg);
    jw_char(w, '}');
    return ZS_OK;
}

/* Factory buildings in rows along the longer side of the rectangle (grid
 * frame), separated by fire lanes, in one of three styles: a few big modern
 * halls (chip makers), rows of standard factories, or an old works crowded
 * with small workshops; perhaps an administration building at the gate. */
static zs_status lay_factories(district *d, parcel_ctx *pc, rng *r, double x0, double y0, double x1,
                               double y1)
{
    bool along_p = x1 - x0 >= y1 - y0;
    double L = along_p ? x1 - x0 : y1 - y0, D = along_p ? y1 - y0 : x1 - x0;
    int style = rng_pick(r, (const double[]){pc->industries & IND_SEMI ? 3 : 0.6, 5, 7}, 3);
    static const double width_lo[] = {28, 16, 9}, width_hi[] = {48, 24, 14};
    static const double len_lo[] = {60, 30, 16}, len_hi[] = {140, 60, 36};
    static const double gap_lo[] = {14, 10, 6}, gap_hi[] = {20, 12, 9};
    double gap = rng_range(r, gap_lo[style], gap_hi[style]);
    if (rng_unit(r) < 0.3) D -= rng_range(r, 0, 0.2) * D; /* a yard */
    double want = rng_range(r, width_lo[style], width_hi[style]);
    int rows = (int)floor((D + gap) / (want + gap));
    if (rows < 1) {
        if (D < 10) return ZS_OK;
        rows = 1;
    }
    double w = fmin((D + gap) / rows - gap, 60);
    bool admin = rng_unit(r) < 0.3;
    for (int row = 0; row < rows; row++) {
        double c0 = row * (w + gap);
        double pos = 0, lg = rng_range(r, gap_lo[style], gap_hi[style]);
        while (pos + 16 <= L) {
            double len = rng_range(r, len_lo[style], len_hi[style]);
            if (L - (pos + len) < len_lo[style] + lg) len = L - pos;
            if (len > 170) len = 110;
            double a0 = pos, a1 = pos + len, b0 = c0, b1 = c0 + w;
            bool office = admin && row == 0 && pos == 0;
            if (office) { /* a smaller block at the gate */
                a1 = fmin(a1, a0 + 48);
                b1 = fmin(b1, b0 + 20);
            }
            footprint f = along_p ? (footprint){x0 + a0, y0 + b0, x0 + a1, y0 + b1, 0, 0, 0}
                                  : (footprint){x0 + b0, y0 + a0, x0 + b1, y0 + a1, 0, 0, 0};
            if (office || rng_unit(r) > 0.05) {
                zs_status s = write_building(d, pc, &f, !office, office);
                if (s) return s;
            }
            pos += len + lg;
        }
    }
    return ZS_OK;
}

/* Office buildings on a grid inside the rectangle: towers on commercial
 * land, lower slabs on mixed land; some L-shaped. */
static zs_status lay_offices(district *d, parcel_ctx *pc, rng *r, double x0, double y0, double x1,
                             double y1)
{
    double W = x1 - x0, H = y1 - y0;
    bool slab = pc->land_use == LU_MIXED;
    double bw = slab ? rng_range(r, 30, 56) : rng_range(r, 18, 36);
    double bh = slab ? rng_range(r, 12, 16) : rng_range(r, 14, 22);
    if (rng_unit(r) < 0.5) {
        double t = bw;
        bw = bh;
        bh = t;
    }
    double gx = rng_range(r, 10, 16), gy = rng_range(r, 10, 16);
    int nx = (int)floor((W + gx) / (bw + gx)), ny = (int)floor((H + gy) / (bh + gy));
    if (nx < 1 && W >= 12) {
        nx = 1;
        bw = W;
    }
    if (ny < 1 && H >= 12) {
        ny = 1;
        bh = H;
    }
    if (nx > 6) nx = 6;
    if (ny > 6) ny = 6;
    /* spread what is left over between the buildings */
    double sx = nx > 1 ? (W - nx * bw) / (nx - 1) : 0, sy = ny > 1 ? (H - ny * bh) / (ny - 1) : 0;
    double ox = nx > 1 ? 0 : (W - bw) / 2, oy = ny > 1 ? 0 : (H - bh) / 2;
    for (int iy = 0; iy < ny; iy++) {
        for (int ix = 0; ix < nx; ix++) {
            if (nx * ny > 2 && rng_unit(r) < 0.08) continue; /* a square or car park */
            footprint f = {x0 + ox + ix * (bw + sx), y0 + oy + iy * (bh + sy), 0, 0, 0, 0, 0};
            f.x1 = f.x0 + bw;
            f.y1 = f.y0 + bh;
            if (!slab && bw > 26 && bh > 20 && rng_unit(r) < 0.3) {
                f.cut = rng_int(r, 1, 4);
                f.cut_fx = rng_range(r, 0.4, 0.6);
                f.cut_fy = rng_range(r, 0.4, 0.6);
            }
            zs_status s = write_building(d, pc, &f, false, false);
            if (s) return s;
        }
    }
    return ZS_OK;
}

typedef enum { REG_BOUNDARY, REG_RIVER_N, REG_RIVER_S } region_kind;

/* A region that parcels are clipped to, with its edge as a curve whose
 * parameter increases with the region on its left. */
typedef struct {
    const district *d;
    region_kind kind;
    double margin;
} region;

static bool reg_inside(const region *g, pt p)
{
    const district *d = g->d;
    if (g->kind == REG_BOUNDARY) return inside_boundary(d, p, d->sq, g->margin);
    double u, v;
    river_uv(d, p, &u, &v);
    double edge = river_hw(d, u) + g->margin, f = river_f(d, u);
    return g->kind == REG_RIVER_N ? v > f + edge : v < f - edge;
}

static double reg_param(const region *g, pt p)
{
    if (g->kind == REG_BOUNDARY) return atan2(p.y, p.x);
    double u, v;
    river_uv(g->d, p, &u, &v);
    return g->kind == REG_RIVER_N ? u : -u;
}

static pt reg_curve(const region *g, double t)
{
    const district *d = g->d;
    if (g->kind == REG_BOUNDARY) {
        double r = radius1(d, t) * d->sq - g->margin;
        return (pt){r * cos(t), r * sin(t)};
    }
    double u = g->kind == REG_RIVER_N ? t : -t;
    double edge = river_hw(d, u) + g->margin;
    return river_pt(d, u, river_f(d, u) + (g->kind == REG_RIVER_N ? edge : -edge));
}

/* Parameter step for points about 10 m apart along the curve near p. */
static double reg_step(const region *g, pt p)
{
    return g->kind == REG_BOUNDARY ? 10 / hypot(p.x, p.y) : 10;
}

/* The part of ring `in` (local plane, counter-clockwise) inside region g,
 * into out: the ring is walked in steps of at most 10 m; where it leaves the
 * region the region's edge is followed to where it comes back. Returns false
 * when nothing or no simple polygon is left (a region cutting the ring into
 * several pieces is not handled; such parcels are dropped). */
static bool clip_ring(const region *g, const ptlist *in, ptlist *out, ptlist *dense)
{
    dense->n = 0;
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        pt a = in->p[i], b = in->p[(i + 1) % in->n];
        int steps = (int)(hypot(b.x - a.x, b.y - a.y) / 10) + 1;
        for (int s = 0; s < steps; s++) {
            double t = (double)s / steps;
            if (!pts_push(dense, (pt){a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t})) return false;
        }
    }
    size_t n = dense->n, start = n;
    for (size_t i = 0; i < n; i++) {
        if (reg_inside(g, dense->p[i])) {
            start = i;
            break;
        }
    }
    if (start == n) return false;
    double t_exit = 0;
    bool outside = false;
    for (size_t k = 0; k < n; k++) {
        pt a = dense->p[(start + k) % n], b = dense->p[(start + k + 1) % n];
        bool ia = reg_inside(g, a), ib = reg_inside(g, b);
        if (ia && !pts_push(out, a)) return false;
        if (ia == ib) continue;
        /* the crossing, by bisection */
        pt lo = ia ? a : b, hi = ia ? b : a;
        for (int it = 0; it < 40; it++) {
            pt m = {(lo.x + hi.x) / 2, (lo.y + hi.y) / 2};
            if (reg_inside(g, m))
                lo = m;
            else
                hi = m;
        }
        pt x = lo;
        if (ia) {
            if (!pts_push(out, x)) return false;
            t_exit = reg_param(g, x);
            outside = true;
        } else {
            double t_entry = reg_param(g, x);
            double span = t_entry - t_exit;
            if (g->kind == REG_BOUNDARY) {
                while (span < 0)
                    span += 2 * PI;
                while (span > 2 * PI)
                    span -= 2 * PI;
            }
            if (span < 0 || !outside) return false;
            double step = reg_step(g, x);
            for (double t = step; t < span - step / 2; t += step)
                if (!pts_push(out, reg_curve(g, t_exit + t))) return false;
            if (!pts_push(out, x)) return false;
            outside = false;
        }
    }
    out->n = ring_simplify(out->p, out->n);
    return out->n >= 3 && ring_simple(out->p, out->n);
}

/* State and land-use derived properties of a parcel. */
typedef struct {
    const char *state; /* 现状 */
    int status;        /* ST_*, -1 for none */
    bool buildings;    /* built (or being built) on */
    bool building_site;
} parcel_state;

static parcel_state pick_state(rng *r, int lu, bool in_park)
{
    parcel_state s = {NULL, -1, false, false};
    if (lu == LU_GREEN) {
        s.state = rng_unit(r) < 0.6 ? "公园绿地" : "防护绿地";
        return s;
    }
    if (lu == LU_OTHER) {
        static const char *const o[] = {"学校", "变电站", "公交场站", "社区服务中心", "污水泵站"};
        s.state = o[rng_int(r, 0, 4)];
        return s;
    }
    enum { S_BARE, S_LEVEL, S_OLD, S_SITE, S_BUILT };
    double w[5];
    if (lu == LU_RESIDENTIAL) {
        w[S_BARE] = 4, w[S_LEVEL] = 2, w[S_OLD] = 2, w[S_SITE] = 10, w[S_BUILT] = 82;
    } else if (lu == LU_INDUSTRIAL) {
        w[S_BARE] = in_park ? 12 : 8, w[S_LEVEL] = in_park ? 8 : 5, w[S_OLD] = in_park ? 3 : 7,
        w[S_SITE] = 8, w[S_BUILT] = 70;
    } else {
        w[S_BARE] = 7, w[S_LEVEL] = 4, w[S_OLD] = 3, w[S_SITE] = 9, w[S_BUILT] = 77;
    }
    switch (rng_pick(r, w, 5)) {
    case S_BARE:
        s.state = "净地";
        s.status = rng_unit(r) < 0.72 ? ST_AVAILABLE : ST_RESERVED;
        break;
    case S_LEVEL:
        s.state = "已平整";
        s.status = rng_unit(r) < 0.72 ? ST_AVAILABLE : ST_RESERVED;
        break;
    case S_OLD:
        s.state = "旧厂房待拆";
        s.status = rng_unit(r) < 0.8 ? ST_AVAILABLE : ST_RESERVED;
        break;
    case S_SITE:
        s.state = "在建";
        s.status = ST_BUILDING;
        s.buildings = lu != LU_RESIDENTIAL;
        s.building_site = true;
        break;
    default:
        s.state = rng_unit(r) < 0.85 ? "已建成" : "部分建成";
        s.status = rng_unit(r) < 0.92 ? ST_LEASED : ST_AVAILABLE;
        s.buildings = lu != LU_RESIDENTIAL;
        break;
    }
    return s;
}

static int pick_land_use(rng *r, const block_ctx *b, bool outer)
{
    static const double park_lu[LU_COUNT] = {82, 4, 0, 8, 5, 1};
    static const double commerce_park_lu[LU_COUNT] = {8, 52, 0, 32, 7, 1};
    static const double outer_lu[LU_COUNT] = {40, 10, 24, 10, 10, 4};
    const double *w = b->pk   ? (b->pk->def->industries == IND_COMM ||
                                       b->pk->def->industries == (IND_COMM | IND_ELEC)
                                     ? commerce_park_lu
                                     : park_lu)
                      : outer ? outer_lu
                              : boards[b->board].land_use;
    return rng_pick(r, w, LU_COUNT);
}

/* Writes one parcel (ring in the local plane) and, when it is built on,
 * its buildings; g is its grid-frame rectangle for laying those out. */
static zs_status write_parcel(district *d, const block_ctx *b, ptlist *ring, int lu, bool clipped,
                              bool riverside, const pt g[4], rng *r)
{
    polygon pg;
    if (!prepare_polygon(d, ring, 1, &pg)) return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    if (pg.area < 300) return ZS_OK;
    long n = d->parcels++;
    char id[16];
    snprintf(id, sizeof id, "L%06d", (int)n + 1);
    parcel_state st = pick_state(r, lu, b->pk != NULL);
    if (riverside) st.state = "滨河绿地";

    double gp = (g[0].x + g[1].x + g[2].x + g[3].x) / 4,
           gq = (g[0].y + g[1].y + g[2].y + g[3].y) / 4;
    parcel_ctx pc = {.b = b, .land_use = lu, .building_site = st.building_site, .clipped = clipped};
    pc.quality = rng_unit(r);
    pc.industries = b->pk                 ? b->pk->def->industries
                    : lu == LU_INDUSTRIAL ? b->industries
                    : lu == LU_COMMERCIAL || lu == LU_MIXED
                        ? (rng_unit(r) < 0.75 ? IND_COMM : IND_COMM | IND_ELEC)
                        : 0;
    parcel_address(d, b->i, b->j, gp, gq, pc.address, sizeof pc.address);

    int year = 2016 + (int)(hash3(T_PARCEL, d->A[b->i].key, d->B[b->j].key, n) % 9);
    int no = ++d->board_parcels[b->board];
    char zh[64], en[64], inds[80];
    snprintf(zh, sizeof zh, "%s%d-%03d号地块", boards[b->board].code, year, no);
    snprintf(en, sizeof en, "Plot %s%d-%03d", boards[b->board].code, year, no);
    industries_list(inds, sizeof inds, pc.industries);
    char cname[32], cphone[32];
    if (b->pk) {
        snprintf(cname, sizeof cname, "%s", b->pk->contact_name);
        snprintf(cphone, sizeof cphone, "%s", b->pk->contact_phone);
    } else {
        contact(r, cname, sizeof cname, cphone, sizeof cphone);
    }

    jw *w = &d->parcels_out;
    props p;
    feature_begin(w, n, &p);
    prop_str(&p, "id", id);
    prop_str(&p, "name_zh", riverside ? "滨河绿地" : zh);
    prop_str(&p, "name_en", riverside ? "Riverside Green" : en);
    if (b->pk)
        prop_str(&p, "park",
                 (char[4]){'P', (char)('0' + (b->pk_index + 1) / 10),
                           (char)('0' + (b->pk_index + 1) % 10), 0});
    prop_str(&p, "board", boards[b->board].zh);
    prop_str(&p, "address", pc.address);
    if (st.status >= 0) prop_str(&p, "status", status_code[st.status]);
    prop_str(&p, "industries", inds);
    prop_str(&p, "contact_name", cname);
    prop_str(&p, "contact_phone", cphone);
    put_updated(&p, rng_next(r));
    prop_str(&p, "land_use", land_use_code[lu]);
    prop_real(&p, "area_m2", pg.area, 2);
    prop_str(&p, "current_state", st.state);
    static const double ratio_lo[LU_COUNT] = {1.0, 2.0, 1.5, 1.8, 0, 0.6};
    static const double ratio_hi[LU_COUNT] = {2.5, 6.0, 3.0, 4.0, 0, 1.5};
    static const double price_lo[LU_COUNT] = {18, 150, 300, 120, 0, 0};
    static const double price_hi[LU_COUNT] = {45, 600, 900, 400, 0, 0};
    if (ratio_hi[lu] > 0)
        prop_real(&p, "plot_ratio", round(rng_range(r, ratio_lo[lu], ratio_hi[lu]) * 10) / 10, 2);
    if (price_hi[lu] > 0) {
        double centre = b->board == 0 ? 1.25 : 1;
        prop_real(&p, "price_wan_per_mu", rng_range(r, price_lo[lu], price_hi[lu]) * centre, 1);
    }
    jw_lit(w, "},");
    jw_polygon(w, d, &pg);
    jw_char(w, '}');

    if (!st.buildings || riverside) return ZS_OK;
    if (lu != LU_INDUSTRIAL && lu != LU_COMMERCIAL && lu != LU_MIXED) return ZS_OK;
    double setback = lu == LU_INDUSTRIAL ? rng_range(r, 6, 10) : rng_range(r, 8, 14);
    double x0 = fmax(g[0].x, g[3].x) + setback, x1 = fmin(g[1].x, g[2].x) - setback;
    double y0 = fmax(g[0].y, g[1].y) + setback, y1 = fmin(g[2].y, g[3].y) - setback;
    if (x1 - x0 < 16 || y1 - y0 < 14) return ZS_OK;
    rng rb = rng_at(T_BUILDING ^ T_PARCEL << 8, d->A[b->i].key, d->B[b->j].key, n);
    pc.office_stem = &office_stems[rng_int(&rb, 0, (int)NOFFICE_STEMS - 1)];
    pc.office_kind = &office_kinds[rng_int(&rb, 0, 3)];
    if (lu == LU_INDUSTRIAL) return lay_factories(d, &pc, &rb, x0, y0, x1, y1);
    return lay_offices(d, &pc, &rb, x0, y0, x1, y1);
}

/* Cuts the cell's quad (grid frame, corners c) into parcels and writes
 * them. */
static zs_status do_block(district *d, int i, int j)
{
    int owner = d->owner_kind[cell_index(d, i, j)];
    if (owner == 2) return ZS_OK; /* a lake's superblock, written with the lake */
    pt c[4];
    cell_corners(d, i, j, c);
    if (c[1].x - c[0].x < 20 || c[2].x - c[3].x < 20 || c[3].y - c[0].y < 20 ||
        c[2].y - c[1].y < 20)
        return ZS_OK; /* too small to build on (far out at the largest scales) */
    pt lc[4];
    bool any_in = false, all_in = true;
    for (int k = 0; k < 4; k++) {
        lc[k] = grid_pt(d, c[k].x, c[k].y);
        bool in = inside_boundary(d, lc[k], d->sq, 0);
        any_in |= in;
        all_in &= in;
    }
    pt mid = quad_centre(c);
    pt lmid = grid_pt(d, mid.x, mid.y);
    if (!any_in && !inside_boundary(d, lmid, d->sq, 0)) return ZS_OK;

    block_ctx b = {.i = i, .j = j, .board = board_of(d, lmid)};
    if (owner == 1) {
        b.pk_index = d->owner[cell_index(d, i, j)];
        b.pk = &d->parks[b.pk_index];
        b.board = b.pk->board;
    }
    rng r = rng_at(T_BLOCK, d->A[i].key, d->B[j].key, 0);
    static const int outside_inds[NBOARDS] = {IND_ELEC, IND_SEMI, IND_ELEC, IND_MED, IND_MED};
    b.industries = rng_unit(&r) < 0.5 ? outside_inds[b.board]
                                      : (1 << rng_int(&r, 0, 2)); /* semi, elec or med */
    double th = atan2(lmid.y, lmid.x);
    bool outer = hypot(lmid.x, lmid.y) > radius1(d, th);
    int block_lu = pick_land_use(&r, &b, outer);

    /* the cut: strips across the longer side, each strip cut again */
    double W = (c[1].x - c[0].x + c[2].x - c[3].x) / 2, H = (c[3].y - c[0].y + c[2].y - c[1].y) / 2;
    bool along_p = W >= H;
    double L = along_p ? W : H, S = along_p ? H : W;
    int nstrips = 1;
    bool big = rng_unit(&r) < (b.pk ? 0.12 : 0.08);
    if (!big) {
        nstrips = (int)lround(L / rng_range(&r, 75, 130));
        if (nstrips < 1) nstrips = 1;
        if (nstrips > 4) nstrips = 4;
    }
    double cuts[6];
    cuts[0] = 0;
    for (int s = 1; s < nstrips; s++)
        cuts[s] = (s + rng_range(&r, -0.2, 0.2)) / nstrips;
    cuts[nstrips] = 1;
    for (int s = 0; s < nstrips; s++) {
        int nparts = 1;
        if (!big) {
            nparts = (int)lround(S / rng_range(&r, 70, 120));
            if (nparts < 1) nparts = 1;
            if (nparts > 3) nparts = 3;
        }
        double vc[4] = {0};
        for (int k = 1; k < nparts; k++)
            vc[k] = (k + rng_range(&r, -0.15, 0.15)) / nparts;
        vc[nparts] = 1;
        for (int k = 0; k < nparts; k++) {
            double u0 = cuts[s], u1 = cuts[s + 1], v0 = vc[k], v1 = vc[k + 1];
            /* bilinear sub-quad: its sides are straight, so parcels tile the block */
            double uu[4] = {u0, u1, u1, u0}, vv[4] = {v0, v0, v1, v1};
            pt g[4];
            for (int q = 0; q < 4; q++) {
                double u = along_p ? uu[q] : vv[q], v = along_p ? vv[q] : uu[q];
                g[q].x = (1 - u) * (1 - v) * c[0].x + u * (1 - v) * c[1].x + u * v * c[2].x +
                         (1 - u) * v * c[3].x;
                g[q].y = (1 - u) * (1 - v) * c[0].y + u * (1 - v) * c[1].y + u * v * c[2].y +
                         (1 - u) * v * c[3].y;
            }
            if (!along_p) { /* keep the corners counter-clockwise from (-p, -q) */
                pt t = g[1];
                g[1] = g[3];
                g[3] = t;
            }
            int lu = rng_unit(&r) < 0.75 ? block_lu : pick_land_use(&r, &b, outer);
            zs_status st = ZS_OK;
            d->scratch.n = 0;
            for (int q = 0; q < 4; q++)
                if (!pts_push(&d->scratch, grid_pt(d, g[q].x, g[q].y)))
                    return zs_fail(d->err, ZS_ENOMEM, "out of memory");
            /* near the boundary: keep the part inside */
            bool clipped = false;
            ptlist *ring = &d->scratch;
            if (!all_in) {
                bool all = true;
                for (size_t q = 0; q < ring->n && all; q++)
                    all = inside_boundary(d, ring->p[q], d->sq, 0);
                region reg = {d, REG_BOUNDARY, 0};
                if (!all) {
                    if (!clip_ring(&reg, ring, &d->clip, &d->clip2)) continue;
                    ring = &d->clip;
                    clipped = true;
                }
            }
            /* near the river: what is left on each bank is a green strip */
            double u, v;
            river_uv(d, grid_pt(d, (g[0].x + g[2].x) / 2, (g[0].y + g[2].y) / 2), &u, &v);
            double reach =
                hypot(g[2].x - g[0].x, g[2].y - g[0].y) + hypot(g[3].x - g[1].x, g[3].y - g[1].y);
            if (fabs(v - river_f(d, u)) < 120 + reach * 1.5) {
                bool wet = false;
                for (size_t q = 0; q < ring->n && !wet; q++) {
                    pt a = ring->p[q], bq = ring->p[(q + 1) % ring->n];
                    int steps = (int)(hypot(bq.x - a.x, bq.y - a.y) / 10) + 1;
                    for (int s2 = 0; s2 <= steps && !wet; s2++) {
                        double t = (double)s2 / steps;
                        wet = in_river(d, (pt){a.x + (bq.x - a.x) * t, a.y + (bq.y - a.y) * t}, 30);
                    }
                }
                if (wet) {
                    ptlist piece = {0}, dense = {0};
                    for (int side = 0; side < 2 && !st; side++) {
                        region reg = {d, side ? REG_RIVER_S : REG_RIVER_N, 30};
                        if (clip_ring(&reg, ring, &piece, &dense))
                            st = write_parcel(d, &b, &piece, LU_GREEN, true, true, g, &r);
                    }
                    free(piece.p);
                    free(dense.p);
                    if (st) return st;
                    continue;
                }
            }
            st = write_parcel(d, &b, ring, lu, clipped, false, g, &r);
            if (st) return st;
        }
    }
    return ZS_OK;
}

/* ---- roads ------------------------------------------------------------------------------ */

/* True when a road on line l (family A when is_a) runs through grid point
 * (gp, gq): inside the boundary, not inside a lake's superblock, and, for
 * the lesser roads, not across the river (only main roads have bridges). */
static bool road_here(const district *d, const gline *l, int idx, bool is_a, double gp, double gq)
{
    pt p = grid_pt(d, gp, gq);
    if (!inside_boundary(d, p, d->sq, 0)) return false;
    if (l->cls >= RC_TERTIARY && in_river(d, p, 8)) return false;
    for (int k = 0; k < d->nlakes; k++) {
        const lake *lk = &d->lakes[k];
        if (is_a && idx > lk->ia && idx < lk->ib) {
            const gline *b0 = &d->B[lk->ja], *b1 = &d->B[lk->jb];
            if (gq > b0->a + b0->s * gp && gq < b1->a + b1->s * gp) return false;
        }
        if (!is_a && idx > lk->ja && idx < lk->jb) {
            const gline *a0 = &d->A[lk->ia], *a1 = &d->A[lk->ib];
            if (gp > a0->a + a0->s * gq && gp < a1->a + a1->s * gq) return false;
        }
    }
    return true;
}

/* Grid point at parameter t along line l (q for family A, p for B). */
static void line_at(const gline *l, bool is_a, double t, double *gp, double *gq)
{
    if (is_a) {
        *gq = t;
        *gp = l->a + l->s * t;
    } else {
        *gp = t;
        *gq = l->a + l->s * t;
    }
}

typedef struct {
    double t0, t1;
} run;

/* The stretches of line l that carry a road, at most cap of them. */
static int road_runs(const district *d, const gline *l, int idx, bool is_a, run *out, int cap)
{
    int n = 0;
    double step = 40, t0 = 0;
    bool on = false;
    double prev = -d->reach;
    for (double t = -d->reach; t <= d->reach + step / 2; t += step) {
        double gp, gq;
        line_at(l, is_a, t, &gp, &gq);
        bool here = t <= d->reach && road_here(d, l, idx, is_a, gp, gq);
        if (here != on) {
            double lo = prev, hi = t; /* refine: lo has `on`, hi has `here` */
            for (int it = 0; it < 30; it++) {
                double m = (lo + hi) / 2;
                line_at(l, is_a, m, &gp, &gq);
                if (road_here(d, l, idx, is_a, gp, gq) == on)
                    lo = m;
                else
                    hi = m;
            }
            if (!on) {
                t0 = hi;
            } else if (lo - t0 > 60 && n < cap) {
                out[n++] = (run){t0, lo};
            }
            on = here;
        }
        prev = t;
    }
    return n;
}

#define MAX_RUNS 16

/* Writes the roads: one feature per named line, a LineString or a
 * MultiLineString of its runs, with a vertex at every crossing street. */
static zs_status write_roads(district *d)
{
    int total = d->nA + d->nB;
    run *runs = calloc((size_t)total * MAX_RUNS, sizeof *runs);
    int *order = calloc((size_t)total, sizeof *order);
    d->names = calloc((size_t)total, sizeof *d->names);
    if (!runs || !order || !d->names) {
        free(runs);
        free(order);
        return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    }
    for (int k = 0; k < total; k++) {
        bool is_a = k < d->nA;
        gline *l = is_a ? &d->A[k] : &d->B[k - d->nA];
        l->nruns =
            road_runs(d, l, is_a ? k : k - d->nA, is_a, runs + (size_t)k * MAX_RUNS, MAX_RUNS);
        order[k] = k;
    }
    /* names: nearest the centre first, every line (with a road at this
     * scale or not), so that a line has the same name at every scale */
    for (int x = 1; x < total; x++) {
        for (int y = x; y > 0; y--) {
            int a = order[y - 1], b = order[y];
            const gline *la = a < d->nA ? &d->A[a] : &d->B[a - d->nA];
            const gline *lb = b < d->nA ? &d->A[b] : &d->B[b - d->nA];
            if (fabs(la->a) <= fabs(lb->a)) break;
            order[y - 1] = b;
            order[y] = a;
        }
    }
    for (int x = 0; x < total; x++) {
        int k = order[x];
        bool is_a = k < d->nA;
        name_line(d, is_a ? &d->A[k] : &d->B[k - d->nA], is_a);
    }

    jw w;
    zs_status s = jw_open(d, &w, "roads");
    ptlist line = {0};
    for (int k = 0; k < total && !s; k++) {
        bool is_a = k < d->nA;
        const gline *l = is_a ? &d->A[k] : &d->B[k - d->nA];
        if (!l->nruns) continue;
        const gline *other = is_a ? d->B : d->A;
        int nother = is_a ? d->nB : d->nA;
        char id[16];
        snprintf(id, sizeof id, "R%04d", (int)d->nroads + 1);
        props p;
        feature_begin(&w, d->nroads++, &p);
        prop_str(&p, "id", id);
        prop_str(&p, "name_zh", d->names[l->name].zh);
        prop_str(&p, "name_en", d->names[l->name].en);
        prop_str(&p, "road_class", road_class_code[l->cls]);
        jw_lit(&w, "},\"geometry\":{\"type\":");
        bool multi = l->nruns > 1;
        if (multi)
            jw_lit(&w, "\"MultiLineString\",\"coordinates\":[");
        else
            jw_lit(&w, "\"LineString\",\"coordinates\":");
        for (int rr = 0; rr < l->nruns; rr++) {
            const run *ru = &runs[(size_t)k * MAX_RUNS + rr];
            line.n = 0;
            double gp, gq;
            line_at(l, is_a, ru->t0, &gp, &gq);
            bool ok = pts_push(&line, grid_pt(d, gp, gq));
            for (int o = 0; o < nother && ok; o++) {
                double cp, cq;
                if (is_a)
                    cross_lines(l, 0, &other[o], 0, &cp, &cq);
                else
                    cross_lines(&other[o], 0, l, 0, &cp, &cq);
                double t = is_a ? cq : cp;
                if (t > ru->t0 + 1 && t < ru->t1 - 1) ok = pts_push(&line, grid_pt(d, cp, cq));
            }
            line_at(l, is_a, ru->t1, &gp, &gq);
            if (!ok || !pts_push(&line, grid_pt(d, gp, gq)) || !mm_reserve(d, 2 * line.n)) {
                s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
                break;
            }
            project(d, line.p, line.n, 0);
            if (rr) jw_char(&w, ',');
            jw_ring(&w, d, 0, line.n, false);
        }
        if (multi) jw_char(&w, ']');
        jw_lit(&w, "}}");
    }
    free(line.p);
    free(runs);
    free(order);
    zs_status c = jw_close(d, &w, "roads");
    return s ? s : c;
}

/* ---- boundary, water, parks ---------------------------------------------------------------- */

static zs_status write_boundary(district *d)
{
    jw w;
    zs_status s = jw_open(d, &w, "boundary");
    if (s) return s;
    ptlist ring = {0};
    int n = (int)(1440 * d->sq);
    for (int k = 0; k < n && !s; k++) {
        double th = -PI + 2 * PI * k / n, r = radius1(d, th) * d->sq;
        if (!pts_push(&ring, (pt){r * cos(th), r * sin(th)}))
            s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
    }
    polygon pg;
    if (!s && !prepare_polygon(d, &ring, 1, &pg)) s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
    if (!s) {
        props p;
        feature_begin(&w, 0, &p);
        prop_str(&p, "id", "D1");
        prop_str(&p, "name_zh", "汉源区");
        prop_str(&p, "name_en", "Hanyuan District");
        jw_lit(&w, "},");
        jw_polygon(&w, d, &pg);
        jw_char(&w, '}');
    }
    free(ring.p);
    zs_status c = jw_close(d, &w, "boundary");
    return s ? s : c;
}

/* The river as a polygon: its north bank downstream, its south bank back,
 * from where it enters the (scaled) district to where it leaves, plus a
 * little beyond, as a map would show it. */
static bool river_ring(district *d, ptlist *ring)
{
    double lo = 0, hi = 0;
    while (lo > -d->reach && inside_boundary(d, river_pt(d, lo, river_f(d, lo)), d->sq, 0))
        lo -= 20;
    while (hi < d->reach && inside_boundary(d, river_pt(d, hi, river_f(d, hi)), d->sq, 0))
        hi += 20;
    lo -= 700;
    hi += 700;
    int n = (int)((hi - lo) / 30);
    for (int k = 0; k <= n; k++) {
        double u = lo + (hi - lo) * k / n;
        if (!pts_push(ring, river_pt(d, u, river_f(d, u) + river_hw(d, u)))) return false;
    }
    for (int k = n; k >= 0; k--) {
        double u = lo + (hi - lo) * k / n;
        if (!pts_push(ring, river_pt(d, u, river_f(d, u) - river_hw(d, u)))) return false;
    }
    return true;
}

/* Writes the water and, for each lake, the green parcel around it. */
static zs_status write_water(district *d)
{
    jw w;
    zs_status s = jw_open(d, &w, "water");
    if (s) return s;
    ptlist ring = {0};
    polygon pg;
    if (!river_ring(d, &ring) || !prepare_polygon(d, &ring, 1, &pg)) {
        s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
    } else {
        props p;
        feature_begin(&w, d->nwater++, &p);
        prop_str(&p, "id", "W01");
        prop_str(&p, "name_zh", "故黄河");
        prop_str(&p, "name_en", "Old Yellow River");
        jw_lit(&w, "},");
        jw_polygon(&w, d, &pg);
        jw_char(&w, '}');
    }
    for (int l = 0; l < d->nlakes && !s; l++) {
        lake *k = &d->lakes[l];
        if (!prepare_polygon(d, &k->ring, 1, &pg)) {
            s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
            break;
        }
        char id[16];
        snprintf(id, sizeof id, "W%02d", (int)d->nwater + 1);
        props p;
        feature_begin(&w, d->nwater++, &p);
        prop_str(&p, "id", id);
        prop_str(&p, "name_zh", k->zh);
        prop_str(&p, "name_en", k->en);
        jw_lit(&w, "},");
        jw_polygon(&w, d, &pg);
        jw_char(&w, '}');
    }
    free(ring.p);
    zs_status c = jw_close(d, &w, "water");
    return s ? s : c;
}

/* The lake parks: each lake's superblock as one green parcel with the lake
 * as its hole. */
static zs_status write_lake_parks(district *d)
{
    for (int l = 0; l < d->nlakes; l++) {
        lake *k = &d->lakes[l];
        ptlist rings[2] = {{0}, k->ring};
        pt c[4];
        double p0, q0, p1, q1;
        cross_lines(&d->A[k->ia], road_half_width[d->A[k->ia].cls], &d->B[k->ja],
                    road_half_width[d->B[k->ja].cls], &p0, &q0);
        c[0] = (pt){p0, q0};
        cross_lines(&d->A[k->ib], -road_half_width[d->A[k->ib].cls], &d->B[k->ja],
                    road_half_width[d->B[k->ja].cls], &p1, &q1);
        c[1] = (pt){p1, q1};
        cross_lines(&d->A[k->ib], -road_half_width[d->A[k->ib].cls], &d->B[k->jb],
                    -road_half_width[d->B[k->jb].cls], &p1, &q1);
        c[2] = (pt){p1, q1};
        cross_lines(&d->A[k->ia], road_half_width[d->A[k->ia].cls], &d->B[k->jb],
                    -road_half_width[d->B[k->jb].cls], &p0, &q0);
        c[3] = (pt){p0, q0};
        for (int q = 0; q < 4; q++)
            if (!pts_push(&rings[0], grid_pt(d, c[q].x, c[q].y)))
                return zs_fail(d->err, ZS_ENOMEM, "out of memory");
        polygon pg;
        bool ok = prepare_polygon(d, rings, 2, &pg);
        free(rings[0].p);
        if (!ok) return zs_fail(d->err, ZS_ENOMEM, "out of memory");
        long n = d->parcels++;
        char id[16], zh[64], en[96], addr[160];
        snprintf(id, sizeof id, "L%06d", (int)n + 1);
        snprintf(zh, sizeof zh, "%s公园", k->zh);
        snprintf(en, sizeof en, "%s Park", k->en);
        pt m = quad_centre(c);
        int board = board_of(d, grid_pt(d, m.x, m.y));
        street_address(d, k->ia, k->ja, c[0].x, m.y, addr, sizeof addr);
        jw *w = &d->parcels_out;
        props p;
        feature_begin(w, n, &p);
        prop_str(&p, "id", id);
        prop_str(&p, "name_zh", zh);
        prop_str(&p, "name_en", en);
        prop_str(&p, "board", boards[board].zh);
        prop_str(&p, "address", addr);
        put_updated(&p, hash3(T_LAKE, l, 1, 0));
        prop_str(&p, "land_use", "green");
        prop_real(&p, "area_m2", pg.area, 2);
        prop_str(&p, "current_state", "公园绿地");
        jw_lit(w, "},");
        jw_polygon(w, d, &pg);
        jw_char(w, '}');
    }
    return ZS_OK;
}

/* The outline of a park: the union of its cells (a rectangle, perhaps
 * without one corner cell), each side half a street in from the street's
 * centre line. */
static bool park_ring(district *d, const park *pk, ptlist *ring)
{
    /* corners in line indices, counter-clockwise, and which way each side
     * lies from its line (+1: the park is on the + side) */
    int ia = pk->ia, ib = pk->ib, ja = pk->ja, jb = pk->jb;
    int ci = pk->cut_i, cj = pk->cut_j;
    int vi[6], vj[6], si[6], sj[6], n = 0;
#define V(i_, j_, si_, sj_) (vi[n] = (i_), vj[n] = (j_), si[n] = (si_), sj[n] = (sj_), n++)
    switch (pk->cut_corner) {
    case 1:
        V(ia, ja, 1, 1), V(ib, ja, -1, 1), V(ib, cj, -1, -1), V(ci, cj, -1, -1), V(ci, jb, -1, -1),
            V(ia, jb, 1, -1);
        break;
    case 2:
        V(ia, ja, 1, 1), V(ib, ja, -1, 1), V(ib, jb, -1, -1), V(ci + 1, jb, 1, -1),
            V(ci + 1, cj, 1, -1), V(ia, cj, 1, -1);
        break;
    case 3:
        V(ci + 1, ja, 1, 1), V(ib, ja, -1, 1), V(ib, jb, -1, -1), V(ia, jb, 1, -1),
            V(ia, cj + 1, 1, 1), V(ci + 1, cj + 1, 1, 1);
        break;
    case 4:
        V(ia, ja, 1, 1), V(ci, ja, -1, 1), V(ci, cj + 1, -1, 1), V(ib, cj + 1, -1, 1),
            V(ib, jb, -1, -1), V(ia, jb, 1, -1);
        break;
    default:
        V(ia, ja, 1, 1), V(ib, ja, -1, 1), V(ib, jb, -1, -1), V(ia, jb, 1, -1);
        break;
    }
#undef V
    ring->n = 0;
    for (int k = 0; k < n; k++) {
        const gline *a = &d->A[vi[k]], *b = &d->B[vj[k]];
        double p, q;
        cross_lines(a, si[k] * road_half_width[a->cls], b, sj[k] * road_half_width[b->cls], &p, &q);
        if (!pts_push(ring, grid_pt(d, p, q))) return false;
    }
    return true;
}

static zs_status write_parks(district *d)
{
    jw w;
    zs_status s = jw_open(d, &w, "parks");
    if (s) return s;
    ptlist ring = {0};
    static const char *const caps[] = {"园区大门",   "园区全景",     "标准厂房",
                                       "研发办公楼", "配套服务中心", "园区道路"};
    static const int cap_type[] = {2, 0, 1, 2, 2, 1};
    for (int k = 0; k < d->nparks && !s; k++) {
        park *pk = &d->parks[k];
        polygon pg;
        if (!park_ring(d, pk, &ring) || !prepare_polygon(d, &ring, 1, &pg)) {
            s = zs_fail(d->err, ZS_ENOMEM, "out of memory");
            break;
        }
        rng r = rng_at(T_PARK, k, 2, 0);
        char id[16];
        snprintf(id, sizeof id, "P%02d", k + 1);
        /* photos */
        char photos[512] = "";
        int nph = rng_int(&r, 2, 4), first = rng_int(&r, 0, 5);
        for (int q = 0; q < nph && !s; q++) {
            int c = (first + q * 5) % 6;
            char rel[64], path[4200];
            snprintf(rel, sizeof rel, "photos/%s-%d.jpg", id, q + 1);
            snprintf(path, sizeof path, "%s/%s", d->dir, rel);
            uint32_t seed = (uint32_t)(rng_next(&r) & ~3u) | (uint32_t)cap_type[c];
            s = photo_make_demo(path, PHOTO_W, PHOTO_H, seed, d->err);
            cat(photos, sizeof photos, "%s%s|%s", q ? ";" : "", rel, caps[c]);
        }
        if (s) break;

        int ind = pk->def->industries;
        double ha = pg.area / 10000;
        int ent = (int)(ha * rng_range(&r, 1.2, 4.0));
        ent = ent < 20 ? 20 + rng_int(&r, 0, 15) : ent > 400 ? 400 : ent;
        double tax = ent * rng_range(&r, 25, 160);
        const char *cls = tax >= 20000 ? "A" : tax >= 6000 ? "B" : "C";
        char inds[80], inds_zh[160] = "", inds_en[256] = "", addr[160];
        industries_list(inds, sizeof inds, ind);
        for (int b = 0; b < 4; b++) {
            if (!(ind & (1 << b))) continue;
            cat(inds_zh, sizeof inds_zh, "%s%s", inds_zh[0] ? "和" : "", industry_zh[b]);
            cat(inds_en, sizeof inds_en, "%s%s", inds_en[0] ? " and " : "", industry_en[b]);
        }
        double cp, cq;
        to_grid(d, pk->centre, &cp, &cq);
        pt c[4];
        cell_corners(d, pk->ia, pk->ja, c);
        street_address(d, pk->ia, pk->ja, c[0].x, cq, addr, sizeof addr);
        double km = hypot(pk->centre.x - 4200, pk->centre.y + 3600) / 1000 + 1.5;

        char zh[1024] = "", en[1024] = "";
        cat(zh, sizeof zh, "%s位于%s，规划面积约", pk->def->zh, boards[pk->board].zh);
        cat_fixed(zh, sizeof zh, ha, 1);
        cat(zh, sizeof zh,
            "公顷，重点发展%s产业。园区现有入驻企业%d家，可提供标准厂房、研发办公楼和"
            "配套用地，水、电、气、网等基础设施齐全，距高铁站约",
            inds_zh, ent);
        cat_fixed(zh, sizeof zh, km, 1);
        cat(zh, sizeof zh, "公里。");
        cat(en, sizeof en, "%s lies in the %s and covers about ", pk->def->en,
            boards[pk->board].en);
        cat_fixed(en, sizeof en, ha, 1);
        cat(en, sizeof en,
            " ha. It focuses on %s. %d enterprises are based here; standard factories, R&D "
            "offices and serviced land are available, with water, power, gas and fibre in "
            "place. The high-speed railway station is about ",
            inds_en, ent);
        cat_fixed(en, sizeof en, km, 1);
        cat(en, sizeof en, " km away.");

        props p;
        feature_begin(&w, k, &p);
        prop_str(&p, "id", id);
        prop_str(&p, "name_zh", pk->def->zh);
        prop_str(&p, "name_en", pk->def->en);
        prop_str(&p, "board", boards[pk->board].zh);
        prop_str(&p, "address", addr);
        prop_str(&p, "status", k % 7 == 5 ? "reserved" : "available");
        prop_str(&p, "industries", inds);
        prop_str(&p, "contact_name", pk->contact_name);
        prop_str(&p, "contact_phone", pk->contact_phone);
        put_updated(&p, rng_next(&r));
        prop_str(&p, "photos", photos);
        prop_real(&p, "area_m2", pg.area, 2);
        prop_int(&p, "enterprises", ent);
        prop_real(&p, "annual_tax_wan", tax, 1);
        prop_str(&p, "tax_class", cls);
        prop_str(&p, "description_zh", zh);
        prop_str(&p, "description_en", en);
        jw_lit(&w, "},");
        jw_polygon(&w, d, &pg);
        jw_char(&w, '}');
    }
    free(ring.p);
    zs_status c = jw_close(d, &w, "parks");
    return s ? s : c;
}

/* ---- the whole ----------------------------------------------------------------------------- */

static void district_free(district *d)
{
    free(d->A);
    free(d->B);
    free(d->owner_kind);
    free(d->owner);
    free(d->names);
    for (int l = 0; l < d->nlakes; l++)
        free(d->lakes[l].ring.p);
    free(d->scratch.p);
    free(d->clip.p);
    free(d->clip2.p);
    free(d->mm);
    if (d->parcels_out.f) fclose(d->parcels_out.f);
    if (d->buildings_out.f) fclose(d->buildings_out.f);
    free(d->parcels_out.buf);
    free(d->buildings_out.buf);
    free(d);
}

/* Sets up the shapes: boundary, river, grid, lakes and parks. */
static zs_status district_init(district *d)
{
    geodesy_init(&d->geo);
    d->cg = cos(GRID_ANGLE);
    d->sg = sin(GRID_ANGLE);
    rng r = rng_at(T_BOUNDARY, 0, 0, 0);
    for (int i = 2; i < 16; i++) {
        d->bamp[i] = i < 7 ? rng_range(&r, 0.02, 0.05) * 2 / i : rng_range(&r, 0.002, 0.007);
        d->bph[i] = rng_range(&r, 0, 2 * PI);
    }
    double rmax = 0;
    d->rmin1 = 1e30;
    for (int k = 0; k < 3600; k++) {
        double rr = radius1(d, 2 * PI * k / 3600);
        if (rr > rmax) rmax = rr;
        if (rr < d->rmin1) d->rmin1 = rr;
    }
    d->rmin1 -= 5; /* the samples miss the exact minimum by less than this */
    d->reach = rmax * d->sq + 600;

    rng rv = rng_at(T_RIVER, 0, 0, 0);
    double ang = -0.5;
    d->rv_cos = cos(ang);
    d->rv_sin = sin(ang);
    static const double len[3] = {9000, 3100, 1500}, amp[3] = {600, 180, 40};
    for (int i = 0; i < 3; i++) {
        d->rv_len[i] = len[i];
        d->rv_amp[i] = amp[i];
        d->rv_ph[i] = rng_range(&rv, 0, 2 * PI);
    }
    d->rv_v0 = -350;
    d->rv_wph = rng_range(&rv, 0, 2 * PI);

    d->nA = make_lines(d, T_LINE_A, 1150, 0.012, 0.3, &d->A);
    d->nB = make_lines(d, T_LINE_B, 1000, 0.02, 0.25, &d->B);
    if (d->nA < 2 || d->nB < 2) return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    size_t cells = (size_t)(d->nA - 1) * (size_t)(d->nB - 1);
    d->owner_kind = calloc(cells, 1);
    d->owner = calloc(cells, 1);
    if (!d->owner_kind || !d->owner || !place_lakes(d))
        return zs_fail(d->err, ZS_ENOMEM, "out of memory");
    place_parks(d);
    if (d->nparks < NPARKS)
        return zs_fail(d->err, ZS_EINVAL, "demo: only %d of %d parks found a place", d->nparks,
                       NPARKS);
    return ZS_OK;
}

/* True when cell (i, j) lies wholly inside the scale-1 district: such
 * blocks are written first, so their ids are the same at every scale. */
static bool cell_core(const district *d, int i, int j)
{
    pt c[4];
    cell_corners(d, i, j, c);
    for (int k = 0; k < 4; k++)
        if (!inside_boundary(d, grid_pt(d, c[k].x, c[k].y), 1, 0)) return false;
    return true;
}

static zs_status write_blocks(district *d)
{
    zs_status s = jw_open(d, &d->parcels_out, "parcels");
    if (!s) s = jw_open(d, &d->buildings_out, "buildings");
    if (!s) s = write_lake_parks(d);
    for (int pass = 0; pass < 2 && !s; pass++) {
        for (int j = 0; j < d->nB - 1 && !s; j++) {
            for (int i = 0; i < d->nA - 1 && !s; i++) {
                if (cell_core(d, i, j) == (pass == 0)) s = do_block(d, i, j);
            }
        }
    }
    zs_status c1 = jw_close(d, &d->parcels_out, "parcels");
    zs_status c2 = jw_close(d, &d->buildings_out, "buildings");
    return s ? s : c1 ? c1 : c2;
}

zs_status demo_write(const char *dir, int scale, zs_error *err)
{
    if (scale < 1 || scale > DEMO_SCALE_MAX)
        return zs_fail(err, ZS_EINVAL, "demo scale %d is not from 1 to %d", scale, DEMO_SCALE_MAX);
    char photos[4096];
    if (snprintf(photos, sizeof photos, "%s/photos", dir) >= (int)sizeof photos)
        return zs_fail(err, ZS_EINVAL, "demo folder name '%s' is too long", dir);
    if (mkdir(photos, 0755) != 0 && errno != EEXIST)
        return zs_fail(err, ZS_EIO, "cannot make the folder '%s': %s", photos, strerror(errno));
    district *d = calloc(1, sizeof *d);
    if (!d) return zs_fail(err, ZS_ENOMEM, "out of memory");
    d->sq = sqrt(scale);
    d->dir = dir;
    d->err = err;
    zs_status s = district_init(d);
    if (!s) s = write_boundary(d);
    if (!s) s = write_water(d);
    if (!s) s = write_roads(d);
    if (!s) s = write_parks(d);
    if (!s) s = write_blocks(d);
    district_free(d);
    return s;
}
