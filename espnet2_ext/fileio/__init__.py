"""Files of a Kaldi data directory: reading and writing ``wav.scp``/``text``/
``segments``, reading audio, validating a data directory, and the stage stamps that
let a re-run skip work whose inputs did not change (mirrors ``espnet2/fileio``)."""
