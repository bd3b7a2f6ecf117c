"""The one logging setup of the entry modules."""

import logging

from espnet2_ext.utils import log


def test_format_names_file_and_line():
    record = logging.LogRecord(
        "x", logging.INFO, "/a/b/format_wav.py", 12, "hello", None, None
    )
    record.asctime, record.message = "T", record.getMessage()
    formatted = logging.Formatter(log.LOG_FORMAT).formatMessage(record)
    assert formatted == "T [format_wav.py:12] INFO: hello"


def test_setup_logging_configures_a_bare_root_logger(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    log.setup_logging(logging.DEBUG)
    assert root.level == logging.DEBUG
    assert len(root.handlers) == 1
    assert root.handlers[0].formatter._fmt == log.LOG_FORMAT
