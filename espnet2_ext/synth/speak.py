"""Speaking the utterances of an embedded corpus: in worker processes, resumable.

:func:`speak_all` runs :func:`~espnet2_ext.synth.tts.synthesize` once per
:class:`SpeechJob` whose wav is not complete yet, in ``nj`` worker processes
(:func:`~espnet2_ext.utils.process_pool.map_in_processes`: a worker that dies ends the
run with an error naming its utterance). Every wav is written atomically, so a wav that
exists is complete: a re-run after an interruption keeps the finished ones (untouched)
and first removes the temporary files the interrupted run left next to them.

Used by the corpus builders :mod:`espnet2_ext.recipes.mini_st.corpus`,
:mod:`espnet2_ext.recipes.mini_st.ssl_speech` and
:mod:`espnet2_ext.recipes.ml_superb.mini_corpus`.

Example::

    from espnet2_ext.synth.speak import SpeechJob, speak_all
    from espnet2_ext.synth.tts import TRAIN_VOICES

    job = SpeechJob("u1", TRAIN_VOICES[0], "Save the page.", Path("wav/u1.wav"))
    seconds = speak_all([job], nj=1)  # {"u1": 1.23}
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence

from espnet2_ext.synth.tts import Voice, synthesize, wav_duration
from espnet2_ext.utils.atomic import stale_temporaries
from espnet2_ext.utils.process_pool import map_in_processes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechJob:
    """One utterance to speak.

    Attributes:
        utt: Utterance id (named in errors).
        voice: Speaker.
        text: Sentence to say.
        path: Output wav (16 kHz mono PCM16).
        rate: Speed factor, 1.0 = the voice's normal speed.
        pitch_offset: Added to the voice's pitch (espeak-ng only).
    """

    utt: str
    voice: Voice
    text: str
    path: Path
    rate: float = 1.0
    pitch_offset: int = 0


def speak(job: SpeechJob) -> float:
    """Seconds of ``job``'s wav: of the complete one there, else of a new one.

    Raises:
        RuntimeError: the synthesis failed; the message names the utterance and its
            wav (the engine's error follows).
    """
    done = wav_duration(job.path)
    if done is not None:
        return done
    try:
        return synthesize(job.voice, job.text, job.path, job.rate, job.pitch_offset)
    except Exception as e:  # carry the utterance id across the process boundary
        raise RuntimeError(f"synthesis of {job.utt} ({job.path}) failed: {e}") from e


def _describe(job: SpeechJob) -> str:
    return f"{job.utt} ({job.text!r})"


def speak_all(jobs: Sequence[SpeechJob], nj: int = 2) -> Dict[str, float]:
    """Speaks every job whose wav is not complete yet; keeps the complete ones.

    Removes the temporary wav files an interrupted run left in the jobs' folders
    first. Shows a progress bar on a terminal.

    Args:
        jobs: Utterances, with distinct ids and wav paths.
        nj: Worker processes (1: in this process).

    Returns:
        ``{utt: seconds}`` of every job, in the order of ``jobs``.

    Raises:
        RuntimeError: a synthesis failed (:func:`speak`).
        WorkerDied: a worker process died; the message names its utterance.
    """
    from tqdm import tqdm

    for folder in sorted({Path(job.path).parent for job in jobs}):
        for stale in stale_temporaries(folder, "*.wav"):
            stale.unlink()  # left by an interrupted run
    existing = sum(1 for job in jobs if Path(job.path).exists())
    if existing:
        logger.info(
            f"resuming: {existing} of {len(jobs)} wavs exist (checked before re-use)"
        )
    with tqdm(
        total=len(jobs), desc="synthesis", unit="utt", mininterval=1.0, disable=None
    ) as bar:
        if nj <= 1:
            seconds = []
            for job in jobs:
                seconds.append(speak(job))
                bar.update()
        else:
            seconds = map_in_processes(speak, jobs, nj, _describe, bar.update)
    return {job.utt: s for job, s in zip(jobs, seconds)}
