"""The Hong & Viswanathan (2018) model in FiPy, for a side-by-side timing.

    python benchmarks/fipy_hong.py --end-time 2 [--cells 200] [--dt 0.02]

The comparison the users make: the same model, written the way a FiPy user
writes it, on the same machine.  This is the planar, noise-free window of the
published case (../shared/benchmarks/hong2018.md; anodex's row is
`benchmarks/hong2018.py --set 'noise.amplitude="0 1/s"'`):

- the published 200 x 200 um square on the published 1 um grid (cell-centred
  finite volumes: 3 x 200^2 = 1.2e5 unknowns, as 3 x 201^2 nodes in anodex);
- the published numerics: fixed dt = 0.02 s, implicit Euler, the three
  equations coupled in one linear system and swept (Picard) to convergence;
  the eta source (double well and Butler-Volmer) is linearised in eta, w and
  the potential (coupled implicit source terms: Newton's linearisation), the
  transport coefficients lag by one sweep;
- convergence as anodex's Hong case (newton_tolerance 1e-3): every sweep's
  largest change below 1e-3 in eta, in w (units of RT, weighted by its
  storage min(1, chi/chi_ref), as anodex's Newton floor weights it) and in the
  potential (units of RT/F); a step whose sweeps do not converge in 20 is
  retried at half the step, and the step doubles back after a success; each sweep is one sparse LU solve (scipy's SuperLU, the
  solver FiPy installs with by default);
- h(eta) and h'(eta) evaluated at eta clamped to [0, 1], the ion equation in
  conservative form and w's update limited to 5 RT per sweep, as anodex does.

FiPy is not a dependency of anodex: install it in a separate venv
(`python3 -m venv /tmp/fipy && /tmp/fipy/bin/pip install fipy scipy`).
The script prints the wall time, the steps, the sweeps and the deposit
(integral of h over the height) and the front (eta = 0.5 on the mid-line) at
every --report seconds, for benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import time

import fipy as fp
import numpy as np

# the published input (hong2018.md, "Parameters"): um, s, RT per molar volume
KAPPA, M0, S1, S2 = 0.3, 317.9, 1.0e6, 1.19
L, LS, W = 6.25, 1.0e-3, 2.4
ES, EL = -13.8, 2.631
A, AA, DV, FT2 = 1.0, 38.69, 5.5, 0.0074
C0_INV = 14.89
V_APPLIED = -0.45
SIZE = 200.0
TOL = 1e-3
MAX_W_UPDATE = 5.0
C_REF = 1.0 / (1.0 + np.exp(EL / A))  # ion fraction at w = 0


def sigmoid(x):
    """1 / (1 + exp(-x)), overflow-free for numpy arrays."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def build(cells):
    mesh = fp.Grid2D(nx=cells, ny=cells, dx=SIZE / cells, dy=SIZE / cells)
    x = mesh.cellCenters[0]
    eta = fp.CellVariable(mesh=mesh, name="eta", hasOld=True,
                          value=0.5 * (1 - np.tanh(2 * (x.value - 20))))
    w = fp.CellVariable(mesh=mesh, name="w", hasOld=True, value=0.0)
    pot = fp.CellVariable(mesh=mesh, name="pot", hasOld=True,
                          value=-0.225 * (1 - np.tanh(2 * (x.value - 20))))
    eta.constrain(1.0, mesh.facesLeft)
    eta.constrain(0.0, mesh.facesRight)
    w.constrain(0.0, mesh.facesRight)
    pot.constrain(V_APPLIED, mesh.facesLeft)
    pot.constrain(0.0, mesh.facesRight)
    return mesh, eta, w, pot


def interpolation(eta):
    """h(eta) and h'(eta) at eta clamped to [0, 1]."""
    e = np.clip(eta, 0.0, 1.0)
    return e**3 * (6 * e**2 - 15 * e + 10), 30 * e**2 * (1 - e) ** 2


def content(eta, w):
    """Metal content (ions + metal) C = -cl (1 - h) - cs dv h."""
    h, _ = interpolation(eta)
    return sigmoid((w - EL) / A) * (1 - h) + sigmoid((w - ES) / A) * DV * h


def equations(eta, w, pot, dt):
    """The coupled system with coefficients from the current sweep (Picard).

    d eta/dt = -L W g'(eta) + L kappa lap(eta) - Ls h'(eta) [exp(AA pot/2)
               + 14.89 cl (1 - h) exp(-AA pot/2)]
    dC/dt = div(Dm grad w) + div(DN grad pot),  C = -cl (1 - h) - cs dv h
    div(sigma grad pot) = ft2 d eta/dt
    (hong2018.md, "Equations"; cl = -s((w - el)/A), cs = -s((w - es)/A).)
    The ion equation in conservative form, as anodex writes it: its chain
    rule is the published chi dw/dt + ft d eta/dt.  Each sweep linearises C
    about the sweep's values, C ~ C_k + chi_k (w - w_k) + ft_k (eta - eta_k);
    the published chi dw/dt with chi lagged by a sweep sends w in the metal
    (chi ~ 5e-6, Dm = 0) to 1e5 RT in the first step.
    """
    e = np.clip(eta.value, 0.0, 1.0)
    h, dh = interpolation(eta.value)
    d2h = 60 * e * (1 - e) * (1 - 2 * e)
    sl = sigmoid((w.value - EL) / A)
    ss = sigmoid((w.value - ES) / A)
    chi = sl * (1 - sl) / A * (1 - h) + ss * (1 - ss) / A * h * DV
    dm = M0 * (1 - h) ** 2 * sl
    ft = (ss * DV - sl) * dh
    sigma = S1 * h + S2 * (1 - h)
    anodic = np.exp(AA * pot.value / 2)
    cathodic = C0_INV * sl * np.exp(-AA * pot.value / 2)
    # S(eta, w, pot) = -L W g'(eta) - Ls h'(eta) [anodic - (1 - h) cathodic], linearised
    # about the sweep's values in all three unknowns (Newton's linearisation of the source)
    eta0, w0, pot0 = eta.value, w.value, pot.value
    source = (-L * W * 2 * eta0 * (1 - eta0) * (1 - 2 * eta0)
              - LS * dh * (anodic - (1 - h) * cathodic))
    ds_deta = (-L * W * 2 * (1 - 6 * eta0 + 6 * eta0**2)
               - LS * (d2h * anodic - (d2h * (1 - h) - dh * dh) * cathodic))
    ds_dw = LS * dh * (1 - h) * cathodic * (1 - sl) / A
    ds_dpot = -LS * dh * AA / 2 * (anodic + (1 - h) * cathodic)
    mesh = eta.mesh
    cell = lambda a: fp.CellVariable(mesh=mesh, value=a)  # noqa: E731
    face = lambda a: cell(a).harmonicFaceValue  # noqa: E731
    eq_eta = (fp.TransientTerm(var=eta) == fp.DiffusionTerm(L * KAPPA, var=eta)
              + cell(source - ds_deta * eta0 - ds_dw * w0 - ds_dpot * pot0)
              + fp.ImplicitSourceTerm(cell(ds_deta), var=eta)
              + fp.ImplicitSourceTerm(cell(ds_dw), var=w)
              + fp.ImplicitSourceTerm(cell(ds_dpot), var=pot))
    # (C - C_old)/dt with C linearised: TransientTerm(chi, w) + TransientTerm(ft, eta)
    # give chi (w - w_old)/dt + ft (eta - eta_old)/dt; the rest is explicit
    correction = (content(eta.value, w.value) - content(eta.old.value, w.old.value)
                  - chi * (w.value - w.old.value) - ft * (eta.value - eta.old.value)) / dt
    eq_w = (fp.TransientTerm(cell(chi), var=w) + fp.TransientTerm(cell(ft), var=eta)
            + cell(correction)
            == fp.DiffusionTerm(face(dm), var=w) + fp.DiffusionTerm(face(AA * dm), var=pot))
    eq_pot = (fp.DiffusionTerm(face(sigma), var=pot) - fp.TransientTerm(FT2, var=eta) == 0)
    return eq_eta & eq_w & eq_pot


def observables(mesh, eta, cells):
    """Deposit (integral of h over the height, um) and the eta = 0.5 front on the mid-line."""
    h, _ = interpolation(eta.value)
    deposit = float(np.sum(h * mesh.cellVolumes) / SIZE)
    row = eta.value.reshape(cells, cells)[cells // 2]
    x = mesh.cellCenters[0].value.reshape(cells, cells)[cells // 2]
    i = int(np.argmax(row < 0.5))
    front = float(x[i - 1] + (0.5 - row[i - 1]) * (x[i] - x[i - 1]) / (row[i] - row[i - 1]))
    return deposit, front


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--end-time", type=float, default=2.0)
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--dt", type=float, default=0.02)
    ap.add_argument("--max-sweeps", type=int, default=20)
    ap.add_argument("--report", type=float, default=0.1, help="print every this many seconds")
    ap.add_argument("--verbose", action="store_true", help="print every sweep's changes")
    args = ap.parse_args()
    start = time.perf_counter()
    mesh, eta, w, pot = build(args.cells)
    scale = {eta: 1.0, w: 1.0, pot: 1.0 / AA}
    # one LU solve per sweep: FiPy's default criterion measures the residual
    # against the right-hand side, which the potential rows (S1 = 1e6)
    # dominate, so it skipped the solve after the first sweep
    chi_ref = C_REF * (1 - C_REF) / A

    def weight(v):
        """w's change counts in proportion to its storage, min(1, chi/chi_ref):
        anodex's Newton floor (Block.newton_floor), so that w in the metal, where
        chi ~ 5e-6 and any w holds the same content, does not hold up convergence."""
        if v is not w:
            return 1.0
        h, _ = interpolation(eta.value)
        sl, ss = sigmoid((w.value - EL) / A), sigmoid((w.value - ES) / A)
        chi = sl * (1 - sl) / A * (1 - h) + ss * (1 - ss) / A * h * DV
        return np.minimum(1.0, chi / chi_ref)

    solver = fp.LinearLUSolver(tolerance=0.0, criterion="unscaled", iterations=1)
    t, dt, steps, retries, sweeps_total = 0.0, args.dt, 0, 0, 0
    report = args.report
    print(f"FiPy {fp.__version__}, solver suite {fp.solvers.solver_suite}, "
          f"{3 * args.cells**2} unknowns, dt {args.dt} s", flush=True)
    while t < args.end_time - 1e-9:
        step = min(dt, args.end_time - t)
        for v in (eta, w, pot):
            v.updateOld()
        for sweep in range(1, args.max_sweeps + 1):
            before = {v: v.value.copy() for v in scale}
            equations(eta, w, pot, step).sweep(dt=step, solver=solver)
            # anodex's limiter (solver.max_w_update): w moves at most 5 RT per iteration
            w.setValue(before[w] + np.clip(w.value - before[w], -MAX_W_UPDATE, MAX_W_UPDATE))
            changes = {v.name: float(np.max(np.abs(v.value - before[v]) * weight(v))) / s
                       for v, s in scale.items()}
            change = max(changes.values())
            if args.verbose:
                print(f"    t = {t:.4f} s, sweep {sweep}: " + ", ".join(
                    f"{k} {c:.2e}" for k, c in changes.items()), flush=True)
            if not np.isfinite(change):
                break
            if change < TOL:
                break
        sweeps_total += sweep
        if not (np.isfinite(change) and change < TOL):
            retries += 1
            for v in (eta, w, pot):
                v.setValue(v.old)
            dt = step / 2
            print(f"  t = {t:.4f} s: {sweep} sweeps did not converge (change {change:.3g}); "
                  f"dt -> {dt:g} s", flush=True)
            continue
        t += step
        steps += 1
        dt = min(args.dt, 2 * dt) if step < args.dt else dt
        if t >= report - 1e-9 or t >= args.end_time - 1e-9:
            deposit, front = observables(mesh, eta, args.cells)
            print(f"t = {t:.3f} s: wall {time.perf_counter() - start:.1f} s, steps {steps}, "
                  f"retries {retries}, sweeps {sweeps_total}, deposit {deposit:.3f} um, "
                  f"front {front:.3f} um", flush=True)
            report += args.report


if __name__ == "__main__":
    main()
