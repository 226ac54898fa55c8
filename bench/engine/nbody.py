# nbody.py - CPU-bound benchmark: the five Jovian planets, floating point in tight loops.
import sys

PI = 3.14159265358979323
SOLAR_MASS = 4 * PI * PI
DAYS = 365.24


def bodies():
    # x, y, z, vx, vy, vz, mass: the Sun, Jupiter, Saturn, Uranus, Neptune.
    raw = [
        (0, 0, 0, 0, 0, 0, 1),
        (4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
         9.54791938424326609e-04),
        (8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
         2.85885980666130812e-04),
        (1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
         4.36624404335156298e-05),
        (1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
         5.15138902046611451e-05),
    ]
    return [[x, y, z, vx * DAYS, vy * DAYS, vz * DAYS, m * SOLAR_MASS]
            for x, y, z, vx, vy, vz, m in raw]


def energy(bs):
    e = 0.0
    for i, a in enumerate(bs):
        e += 0.5 * a[6] * (a[3] ** 2 + a[4] ** 2 + a[5] ** 2)
        for b in bs[i + 1:]:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            e -= a[6] * b[6] / (dx * dx + dy * dy + dz * dz) ** 0.5
    return e


def advance(bs, pairs, dt, steps):
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            mag = dt * (dx * dx + dy * dy + dz * dz) ** -1.5
            bm, am = b[6] * mag, a[6] * mag
            a[3] -= dx * bm
            a[4] -= dy * bm
            a[5] -= dz * bm
            b[3] += dx * am
            b[4] += dy * am
            b[5] += dz * am
        for a in bs:
            a[0] += dt * a[3]
            a[1] += dt * a[4]
            a[2] += dt * a[5]


def main(steps):
    bs = bodies()
    px = sum(b[3] * b[6] for b in bs)
    py = sum(b[4] * b[6] for b in bs)
    pz = sum(b[5] * b[6] for b in bs)
    sun = bs[0]
    sun[3], sun[4], sun[5] = -px / SOLAR_MASS, -py / SOLAR_MASS, -pz / SOLAR_MASS
    pairs = [(bs[i], bs[j]) for i in range(len(bs)) for j in range(i + 1, len(bs))]
    before = energy(bs)
    advance(bs, pairs, 0.01, steps)
    print("%.9f %.9f" % (before, energy(bs)))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 50000)
