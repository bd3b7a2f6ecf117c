"""One subpackage per recipe family (``egs2/<corpus>``): what belongs to that corpus
or benchmark alone. No family imports another; shared code lives below, in
:mod:`espnet2_ext.stages`, :mod:`espnet2_ext.scoring` and :mod:`espnet2_ext.synth`."""
