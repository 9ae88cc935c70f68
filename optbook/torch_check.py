"""The check every optimizer chapter ends with: the NumPy optimizer against ``torch.optim``.

Both optimizers start from the same float64 parameters and receive the same gradients,
step after step; hyper-parameters can be changed between steps (a learning-rate schedule)
on both sides in the same way. The result is the largest relative deviation of the
parameters over the whole run, which for a faithful implementation is float64 round-off.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

ROUND_OFF = 1e-12  # relative tolerance: a few hundred float64 ulps after a long run


def max_deviation(
    make_numpy: Callable,
    make_torch: Callable,
    params0: Sequence[np.ndarray],
    grads: Sequence[Sequence[np.ndarray]],
    changes: Mapping[int, Mapping[str, float] | Sequence[Mapping[str, float]]] | None = None,
    hooks: Mapping[int, Callable] | None = None,
) -> float:
    """Largest relative parameter deviation between a NumPy and a torch optimizer.

    ``make_numpy(params)`` and ``make_torch(params)`` build the two optimizers over lists of
    arrays and of float64 tensors (a factory may sort them into parameter groups).
    ``grads[k]`` is the list of gradients of ``params0`` fed at step ``k``; an optimizer with
    ``param_groups`` receives those of its own parameters, in the order of its groups.
    ``changes[k]`` sets hyper-parameters before step ``k``: a mapping sets them on the NumPy
    optimizer as attributes (in every group if it has several) and in every torch group;
    a list of mappings sets ``param_groups[i]`` from its ``i``-th entry, on both sides.
    ``hooks[k](np_opt, t_opt, np_params, t_params)`` runs before step ``k`` (after the
    changes), for what a schedule cannot do (``add_param_group``, a ``state_dict`` round
    trip); it may return a new pair ``(np_opt, t_opt)`` to continue with.
    """
    import torch

    changes, hooks = changes or {}, hooks or {}
    np_params = [np.array(p, dtype=float) for p in params0]
    t_params = [torch.tensor(np.array(p, dtype=float), requires_grad=True) for p in params0]
    np_opt = make_numpy(np_params)
    t_opt = make_torch(t_params)
    worst = 0.0
    for k, gs in enumerate(grads):
        if len(gs) != len(params0):
            raise ValueError(f"step {k}: {len(gs)} gradients for {len(params0)} parameters")
        _apply_changes(np_opt, t_opt, changes.get(k, {}))
        if k in hooks:
            replaced = hooks[k](np_opt, t_opt, np_params, t_params)
            if replaced is not None:
                np_opt, t_opt = replaced
        np_opt.step(_ordered_grads(np_opt, np_params, gs))
        for p, g in zip(t_params, gs):
            p.grad = torch.tensor(np.array(g, dtype=float))
        t_opt.step()
        for a, t in zip(np_params, t_params):
            worst = max(worst, _relative_gap(a, t.detach().numpy()))
    return worst


def _relative_gap(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(1, max |b|); infinite where one side is NaN or infinite and the other is not.

    (Python's ``max(worst, nan)`` keeps ``worst``, so a NaN must become a number here, or a run
    where one side breaks down would report no deviation at all.)
    """
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    if np.any(finite_a != finite_b) or np.any(a[~finite_a] != b[~finite_b]):  # NaN != NaN: also caught
        return float("inf")
    if not np.any(finite_b):
        return 0.0
    scale = max(1.0, float(np.max(np.abs(b[finite_b]))))
    return float(np.max(np.abs(a[finite_a] - b[finite_b]))) / scale


def _apply_changes(np_opt, t_opt, change) -> None:
    if isinstance(change, Mapping):
        groups = getattr(np_opt, "param_groups", None)
        for name, value in change.items():
            if groups is not None and len(groups) > 1:
                for group in groups:
                    if name not in group:
                        raise ValueError(f"the NumPy optimizer has no hyper-parameter {name!r}")
                    group[name] = value
            else:
                if not hasattr(np_opt, name):
                    raise ValueError(f"the NumPy optimizer has no hyper-parameter {name!r}")
                setattr(np_opt, name, value)
            for group in t_opt.param_groups:
                group[name] = value
        return
    if len(change) != len(np_opt.param_groups) or len(change) != len(t_opt.param_groups):
        raise ValueError(
            f"{len(change)} group changes for {len(np_opt.param_groups)} NumPy and "
            f"{len(t_opt.param_groups)} torch parameter groups"
        )
    for i, group_change in enumerate(change):
        for name, value in group_change.items():
            if name not in np_opt.param_groups[i]:
                raise ValueError(f"the NumPy optimizer's group {i} has no hyper-parameter {name!r}")
            np_opt.param_groups[i][name] = value
            t_opt.param_groups[i][name] = value


def _ordered_grads(np_opt, np_params, gs) -> list:
    """The gradients the NumPy optimizer takes: of its parameters, in the order of its groups."""
    groups = getattr(np_opt, "param_groups", None)
    if groups is None:
        return [np.array(g, dtype=float) for g in gs]
    where = {id(p): j for j, p in enumerate(np_params)}
    return [np.array(gs[where[id(p)]], dtype=float) for group in groups for p in group["params"]]


def assert_matches_torch(*args, tol: float = ROUND_OFF, **kwargs) -> float:
    """``max_deviation`` with an assertion that it is round-off; returns the deviation."""
    dev = max_deviation(*args, **kwargs)
    if not dev <= tol:
        raise AssertionError(
            f"the NumPy optimizer leaves torch.optim by {dev:.3e} (relative), more than round-off ({tol:.0e})"
        )
    return dev


def same_error(ours: Callable, theirs: Callable, kwargs: Mapping) -> str:
    """The ``ValueError`` message that both constructors give for the hyper-parameters ``kwargs``.

    ``ours`` is a NumPy optimizer class (built over a NumPy array), ``theirs`` the ``torch.optim``
    class (built over a tensor). Raises ``AssertionError`` unless both refuse ``kwargs`` with a
    ``ValueError`` and the same message, which the chapters print beside the arguments.
    """
    import torch

    messages = []
    for make, params in ((ours, [np.zeros(2)]), (theirs, [torch.zeros(2)])):
        try:
            make(params, **kwargs)
        except ValueError as e:
            messages.append(str(e))
    assert len(messages) == 2 and messages[0] == messages[1], (dict(kwargs), messages)
    return messages[0]
