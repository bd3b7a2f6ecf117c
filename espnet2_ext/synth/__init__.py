"""Speech and text synthesis shared by the embedded corpora: the TTS engines
(flite, espeak-ng), speaking a corpus' utterances with them (resumable, in worker
processes), gettext sentence pairs and the toy ST set of the smoke test."""
