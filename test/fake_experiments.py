"""Experiment folders as ESPnet's trainer and our scoring stage leave them, for the
report tests of several recipe families (importable: ``test/`` holds the root
``conftest.py``, so pytest puts it on ``sys.path``)."""

import datetime
import json

import torch
from espnet2.train.reporter import Reporter


def fake_experiment(
    exp, valid_acc, gate_conflict=None, scores=None, nbest=None, times=None
):
    """An experiment dir as ESPnet's trainer and our stage 13 leave it.

    With ``nbest``, a config.yaml with ``best_model_criterion: [[valid, acc, max]]``
    and ``keep_nbest_models: nbest`` (an int or a list). With ``times``, the
    ``(train, valid)`` seconds of each epoch replace the measured ones.
    """
    reporter = Reporter()
    for epoch, acc in enumerate(valid_acc, start=1):
        reporter.set_epoch(epoch)
        with reporter.observe("train") as sub:
            stats = {"loss": torch.tensor(5.0)}
            if gate_conflict is not None:
                stats["gate_conflict"] = torch.tensor(gate_conflict[epoch - 1])
            sub.register(stats)
            sub.next()
        with reporter.observe("valid") as sub:
            sub.register({"acc": torch.tensor(acc), "loss": torch.tensor(1.0 / acc)})
            sub.next()
    for epoch, (train_s, valid_s) in enumerate(times or [], start=1):
        reporter.stats[epoch]["train"]["time"] = datetime.timedelta(seconds=train_s)
        reporter.stats[epoch]["valid"]["time"] = datetime.timedelta(seconds=valid_s)
    exp.mkdir(parents=True)
    torch.save({"reporter": reporter.state_dict()}, exp / "checkpoint.pth")
    if nbest is not None:
        (exp / "config.yaml").write_text(
            "max_epoch: 10\nbest_model_criterion:\n-   - train\n    - loss\n"
            "    - min\n-   - valid\n    - acc\n    - max\n"
            f"keep_nbest_models: {nbest}\npatience: null\n",
            encoding="utf-8",
        )
    for dset, values in (scores or {}).items():
        score = exp / f"decode_{dset}_valid.acc.ave" / "score"
        score.mkdir(parents=True)
        (score / "result.json").write_text(json.dumps(values), encoding="utf-8")
