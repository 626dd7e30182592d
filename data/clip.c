#include "clip.h"

bool clip_segment(double *ax, double *ay, double *bx, double *by, sidx_box box)
{
    double t0 = 0, t1 = 1, dx = *bx - *ax, dy = *by - *ay;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*ax - box.minx, box.maxx - *ax, *ay - box.miny, box.maxy - *ay};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0) {
            if (t > t1) return false;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return false;
            if (t < t1) t1 = t;
        }
    }
    double nax = *ax + t0 * dx, nay = *ay + t0 * dy;
    *bx = *ax + t1 * dx, *by = *ay + t1 * dy;
    *ax = nax, *ay = nay;
    return true;
}
