"""How long the edge services' lifecycles take in the sandbox (Neo, Greengrass v2, IoT jobs).

Kept apart from the endpoints' LifecycleSettings; the admin API's /_sandbox/settings shows
and sets both.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving_operator.sandbox.settings import SettingsJson


@dataclass
class EdgeSettings(SettingsJson):
    compilation_starting_seconds: float = 1.0
    """A Neo job's STARTING, before INPROGRESS."""
    compilation_seconds: float = 2.0
    """A Neo job's INPROGRESS, before COMPLETED or FAILED."""
    compilation_stopping_seconds: float = 1.0
    """A stopped Neo job's STOPPING, before STOPPED."""
    component_seconds: float = 1.0
    """A Greengrass component version's REQUESTED, before DEPLOYABLE or FAILED."""
    device_pickup_seconds: float = 0.5
    """From an online device being notified of a job execution to its IN_PROGRESS."""
    device_apply_seconds: float = 1.0
    """From a device's IN_PROGRESS to the outcome it was told to have."""
    device_run_settle_seconds: float = 1.0
    """How long a core device that runs lifecycles (run_lifecycles) watches a component's Run
    process before it counts as RUNNING: a Run step that exits non-zero within it breaks the
    deployment (nucleus.py)."""
    run_lifecycles: bool = False
    """Whether core devices run the recipes' lifecycle steps for real (nucleus.py) or only do
    what the device table tells them; a device table entry's runLifecycle overrides it."""
    job_minute_seconds: float = 60.0
    """What a minute of an IoT job's configuration lasts: rollout rates per minute and
    in-progress timeouts in minutes are counted in these."""
