"""The ASR task with our frontends, frontend diagnostics and the epoch-aware trainer."""

from espnet2.tasks.asr import ASRTask

from espnet2_ext.tasks import registry
from espnet2_ext.tasks.multiview import MultiViewTaskMixin

registry.register()


class MultiViewASRTask(MultiViewTaskMixin, ASRTask):
    """ESPnet's :class:`ASRTask` with :class:`MultiViewTaskMixin`."""
