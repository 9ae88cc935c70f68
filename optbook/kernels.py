"""A second set of numerical kernels on the same machine: how the tests prove outputs portable.

A reader's CPU makes the libraries pick other kernels than the author's: torch dispatches
its CPU kernels by capability (AVX-512, AVX2 or plain), oneDNN its convolutions by ISA, MKL
its BLAS by CPU, NumPy its SIMD loops by CPU feature, glibc's libm its ``exp`` and ``log`` by
hardware capability. Each changes the last digits of a computation. To prove that a stored
output holds on other machines, the tests run notebooks under a *second kernel set* chosen
here, as different from the machine's own as the machine allows, and compare against the
same stored outputs:

================================  =========================================================
knob                              second set
================================  =========================================================
``ATEN_CPU_CAPABILITY``           ``default`` (torch's plain kernels), when the CPU has more
``ONEDNN_MAX_CPU_ISA``            ``SSE41`` (oneDNN's oldest x86 ISA), on x86-64
``MKL_CBWR``                      ``COMPATIBLE`` (MKL's SSE2-compatible code path), on x86-64
``NPY_ENABLE_CPU_FEATURES``       NumPy's baseline only (no dispatched SIMD loops)
``GLIBC_TUNABLES``                ``glibc.cpu.hwcaps=-AVX2,-FMA`` (libm's plain paths), where
                                  that changes what glibc uses
================================  =========================================================

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are left as the machine has them: on some
processors they are set for correctness. A higher torch capability than the CPU's would
die with SIGILL, so only lower ones are used.

:func:`second_set` returns the variables to set and a note per knob that does not apply
(arm64, macOS's Accelerate); it raises when none applies, since the second run would then
prove nothing. The variable ``OPTBOOK_KERNEL_SET`` carries the expectation into the kernel:
``optbook.setup()`` calls :func:`assert_in_effect`, which fails the notebook when torch's
capability or NumPy's features are not what the set asked for.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

#: the variable that tells a kernel which set it was started under, and what to expect
ENV = "OPTBOOK_KERNEL_SET"


def _probe(env: dict | None = None) -> dict:
    """torch's capability and NumPy's dispatched features, in a fresh interpreter with ``env``."""
    code = (
        "import json, numpy as np\n"
        "from numpy._core._multiarray_umath import __cpu_baseline__, __cpu_dispatch__, __cpu_features__\n"
        "out = {'baseline': list(__cpu_baseline__),\n"
        "       'dispatched': [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]}\n"
        "try:\n"
        "    import torch\n"
        "    out['torch'] = torch.backends.cpu.get_cpu_capability()\n"
        "except ImportError:\n"
        "    out['torch'] = None\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    if res.returncode != 0:
        raise RuntimeError(f"probing the kernels failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _glibc_hwcaps_active(env: dict) -> str | None:
    """glibc's active hwcaps subdirectories mask under ``env`` (None where it cannot be read)."""
    for loader in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-x86-64.so.2"):
        if Path(loader).exists():
            try:
                res = subprocess.run([loader, "--list-diagnostics"], capture_output=True, text=True, env=env,
                                     timeout=30)
            except OSError:
                return None
            for line in res.stdout.splitlines():
                if line.startswith("dl_hwcaps_subdirs_active="):
                    return line.split("=", 1)[1]
    return None


def second_set(base: dict | None = None) -> tuple[dict, list[str]]:
    """The variables of the second kernel set on this machine, and a note per knob that does not apply.

    Raises RuntimeError when no knob changes anything here.
    """
    base = dict(os.environ if base is None else base)
    native = _probe(base)
    env: dict[str, str] = {}
    notes: list[str] = []
    expect: dict = {}
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    if native.get("torch") is None:
        notes.append("torch is not installed: its kernels are not switched")
    elif native["torch"].upper() == "DEFAULT":
        notes.append("torch already runs its plain kernels (capability DEFAULT): nothing lower to switch to")
    else:
        env["ATEN_CPU_CAPABILITY"] = "default"
        expect["torch"] = "DEFAULT"
    if x86:
        env["ONEDNN_MAX_CPU_ISA"] = "SSE41"
        env["MKL_CBWR"] = "COMPATIBLE"
    else:
        notes.append(f"{platform.machine()}: oneDNN's ISA cap and MKL's compatible mode are x86-only")
    if native["dispatched"]:
        env["NPY_ENABLE_CPU_FEATURES"] = " ".join(native["baseline"])
        expect["numpy_dispatched"] = []
    else:
        notes.append("NumPy dispatches no SIMD loop beyond its baseline here: nothing to switch off")
    if sys.platform == "darwin":
        notes.append("macOS: NumPy's BLAS is Accelerate, whose kernels cannot be chosen")
    if x86 and sys.platform.startswith("linux"):
        tunable = "glibc.cpu.hwcaps=-AVX2,-FMA"
        before = _glibc_hwcaps_active(base)
        after = _glibc_hwcaps_active({**base, "GLIBC_TUNABLES": tunable})
        if before is not None and after is not None and before != after:
            env["GLIBC_TUNABLES"] = tunable
        else:
            notes.append("glibc: turning off AVX2 and FMA changes nothing here (or cannot be read): not set")
    if not expect:
        raise RuntimeError(
            "the second kernel set would change nothing on this machine (torch already plain, NumPy without "
            "dispatched loops): it cannot prove that outputs hold on other machines"
        )
    # what the kernel checks (assert_in_effect)
    env[ENV] = json.dumps({"name": "second", **expect}, sort_keys=True)
    check = _probe({**base, **env})
    if "torch" in expect and check.get("torch", "").upper() != expect["torch"]:
        raise RuntimeError(f"ATEN_CPU_CAPABILITY=default did not take effect: torch reports {check.get('torch')}")
    if "numpy_dispatched" in expect and check["dispatched"]:
        raise RuntimeError(f"NPY_ENABLE_CPU_FEATURES did not take effect: NumPy still dispatches {check['dispatched']}")
    return env, notes


def describe(env: dict) -> str:
    """One line per knob of ``env``, for the test report."""
    return ", ".join(f"{k}={v}" for k, v in sorted(env.items()) if k != ENV)


def assert_in_effect() -> None:
    """In a kernel started under a kernel set: fail unless the set's knobs took effect.

    Called by ``optbook.setup()``; does nothing when no kernel set was asked for.
    """
    spec = os.environ.get(ENV)
    if not spec:
        return
    expect = json.loads(spec)
    problems = []
    if "torch" in expect:
        import torch

        got = torch.backends.cpu.get_cpu_capability()
        if got.upper() != expect["torch"]:
            problems.append(f"torch runs {got} kernels, the kernel set asked for {expect['torch']}")
    if "numpy_dispatched" in expect:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

        on = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
        if on:
            problems.append(f"NumPy still dispatches {on}")
    if problems:
        raise RuntimeError(f"kernel set {expect.get('name')!r} not in effect: " + "; ".join(problems))
