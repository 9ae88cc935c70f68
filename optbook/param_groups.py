"""Parameter groups for the book's NumPy optimizers, as ``torch.optim.Optimizer`` keeps them.

Chapter 1's ``Optimizer`` (exported into ``optbook.numpy_optim``) is built on ``ParamGroups``;
the chapter shows and explains the interface, this module holds the bookkeeping:

- ``params`` is a list of arrays, or a list of dicts ``{"params": [...], "lr": ...}``, one per
  parameter group; a group's missing hyper-parameters are filled from ``defaults`` (the
  constructor's arguments), as ``torch.optim.Optimizer.add_param_group`` fills them;
- ``param_groups`` is that list of dicts, which schedules and users change;
- ``state[i]`` is the dict of the ``i``-th parameter in the order of the groups (the order in
  which ``step`` takes the gradients);
- ``add_param_group`` appends a group, refusing a parameter that is already in another one;
- ``state_dict`` / ``load_state_dict`` save and restore the groups (with whatever a schedule
  stored in them, such as ``initial_lr``) and the per-parameter state (buffers, step counts),
  in ``torch.optim``'s layout: parameters are replaced by their positions;
- with a single group, every hyper-parameter of ``defaults`` is also an attribute
  (``opt.lr = 0.01`` writes ``param_groups[0]["lr"]``); with more than one group the attribute
  is ambiguous and reading or writing it raises ``ValueError``.

Error messages are torch's where torch has one.
"""

from __future__ import annotations

import copy

import numpy as np

__all__ = ["ParamGroups"]


class ParamGroups:
    """Parameter groups, per-parameter state and their saving, with ``torch.optim``'s behaviour."""

    def __init__(self, params, defaults: dict):
        if isinstance(params, np.ndarray) or not isinstance(params, (list, tuple)):
            raise TypeError("params must be a list of NumPy arrays, got " + type(params).__name__)
        if len(params) == 0:
            raise ValueError("optimizer got an empty parameter list")
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = []
        groups = list(params) if isinstance(params[0], dict) else [{"params": list(params)}]
        for group in groups:
            self.add_param_group(group)

    # ---- the groups ----

    @property
    def params(self) -> list:
        """Every parameter, group by group: the order of ``state`` and of ``step``'s gradients."""
        return [p for group in self.param_groups for p in group["params"]]

    def add_param_group(self, param_group: dict) -> None:
        """Append a group: ``{"params": [arrays], **hyper-parameters}``; missing ones from ``defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError("a parameter group needs a 'params' entry: {'params': [arrays], ...}")
        params = param_group["params"]
        if isinstance(params, np.ndarray):
            params = [params]
        elif not isinstance(params, (list, tuple)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections: "
                "a list of NumPy arrays, got " + type(params).__name__
            )
        start = sum(len(g["params"]) for g in self.param_groups)
        for i, p in enumerate(params, start):
            if not isinstance(p, np.ndarray):
                raise TypeError(f"params[{i}] must be a NumPy array, got {type(p).__name__}")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"params[{i}] must have a floating dtype to be updated in place, got {p.dtype}")
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            # torch warns and says that "in future, this will cause an error"; a NumPy
            # parameter listed twice would be updated twice, so it is an error here already.
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        if not {id(p) for p in self.params}.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        group = dict(param_group)
        group["params"] = list(params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)
        self.state.extend({} for _ in params)

    # ---- the attribute form of a single group ----

    def _only_group(self, name: str, verb: str) -> dict:
        groups = self.__dict__.get("param_groups", [])
        if len(groups) != 1:
            raise ValueError(
                f"this optimizer has {len(groups)} parameter groups: {verb} opt.param_groups[i][{name!r}]"
            )
        return groups[0]

    def __getattr__(self, name):  # called only when the ordinary lookup fails
        if name in self.__dict__.get("defaults", {}):
            return self._only_group(name, "read")[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in self.__dict__.get("defaults", {}):
            self._only_group(name, "set")[name] = value
        else:
            super().__setattr__(name, value)

    # ---- saving and restoring ----

    def state_dict(self) -> dict:
        """``{"state": {i: dict}, "param_groups": [dict]}``, torch's layout, as copies.

        Parameters are replaced by their positions (``"params": [0, 1]``); ``state`` holds
        the parameters that have state. Everything is copied, so later steps do not change
        a saved dict (torch returns references; ``copy.deepcopy`` of torch's dict is the same).
        """
        groups, start = [], 0
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = list(range(start, start + len(group["params"])))
            start += len(group["params"])
            groups.append(packed)
        state = {i: copy.deepcopy(s) for i, s in enumerate(self.state) if s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` saved into an optimizer over parameters of the same groups.

        The groups' hyper-parameters (and any other entries, such as ``initial_lr``) become
        the saved ones; each parameter's state is copied, arrays cast to the parameter's dtype
        (except a ``"step"`` count), as torch does.
        """
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        position = {}
        for saved in saved_groups:
            for key in saved["params"]:
                position[key] = len(position)
        params = self.params
        state = [{} for _ in params]
        for key, value in state_dict["state"].items():
            if key not in position:
                raise ValueError(f"loaded state dict has state for parameter {key!r}, which no group lists")
            i = position[key]
            state[i] = {k: _cast(v, params[i], k) for k, v in value.items()}
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
        self.param_groups = saved_groups
        self.state = state


def _cast(value, param: np.ndarray, key):
    """A copy of a saved state value, floating arrays in ``param``'s dtype (torch's policy)."""
    if isinstance(value, np.ndarray) and key != "step" and np.issubdtype(value.dtype, np.floating):
        return np.array(value, dtype=param.dtype)
    return copy.deepcopy(value)
