"""The ST task with our frontends, frontend diagnostics and the epoch-aware trainer."""

from espnet2.tasks.st import STTask

from espnet2_ext.tasks import registry
from espnet2_ext.tasks.multiview import MultiViewTaskMixin

registry.register()


class MultiViewSTTask(MultiViewTaskMixin, STTask):
    """ESPnet's :class:`STTask` with :class:`MultiViewTaskMixin`."""
