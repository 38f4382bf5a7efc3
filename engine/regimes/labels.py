"""Canonical regime labels (SPEC §3): states ordered by volatility, ascending."""

from __future__ import annotations

from engine.errors import InputError

STATE_LABELS: dict[int, tuple[str, ...]] = {
    2: ("Calm", "Turbulent"),
    3: ("Calm", "Turbulent", "Crisis"),
    4: ("Calm", "Normal", "Turbulent", "Crisis"),
}


def state_labels(n_states: int) -> tuple[str, ...]:
    """Labels for K = 2, 3 or 4 states, calmest first."""
    if n_states not in STATE_LABELS:
        raise InputError("n_states", f"must be 2, 3 or 4 (got {n_states})")
    return STATE_LABELS[n_states]


def state_index(state: int | str, n_states: int) -> int:
    """0-based index of a state given as 1-based number or label (case-insensitive)."""
    labels = state_labels(n_states)
    if isinstance(state, str):
        lowered = [lab.lower() for lab in labels]
        if state.strip().lower() in lowered:
            return lowered.index(state.strip().lower())
        raise InputError("state", f"unknown state {state!r}; use one of {', '.join(labels)}")
    if float(state) != int(state) or not 1 <= int(state) <= n_states:
        raise InputError("state", f"must be a number 1..{n_states} or a label (got {state})")
    return int(state) - 1
