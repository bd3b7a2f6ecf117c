"""Local English speech synthesis for the embedded corpora (flite and espeak-ng).

Reads nothing but the text it is given; writes one 16 kHz mono PCM16 wav per call of
:func:`synthesize` (atomically: a temporary file renamed into place, so a file that
exists is complete).

Engines (Debian packages; :func:`ensure_tools` checks for them and names the command
that installs them, ``tools/install_system_deps.sh`` installs them):

- ``flite`` 2.2: CMU voices ``slt`` (US female), ``rms`` (US male), ``awb`` (Scottish
  male) and ``kal16`` (US male, diphone); 16 kHz natively; the most natural of the two.
  ``--setf duration_stretch=`` sets the speed, ``--setf int_f0_target_mean=`` the
  pitch (no effect on ``rms``).
- ``espeak-ng`` 1.51: formant speech, robotic but varied: accents (``en-us``,
  ``en-gb-scotland``, ...) x variants (``+m1`` ... ``+f5``), ``-s`` words per minute,
  ``-p`` pitch 0-99; 22.05 kHz, resampled here to 16 kHz with
  ``scipy.signal.resample_poly``.

Output is byte-identical across runs for a fixed voice, text, rate and pitch.

Example::

    from espnet2_ext.synth.tts import TRAIN_VOICES, ensure_tools, synthesize
    ensure_tools()
    seconds = synthesize(TRAIN_VOICES[0], "Change your password.", "a.wav", rate=1.1)
"""

import io
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from math import gcd
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile

from espnet2_ext.utils.atomic import write_wav_atomic
from espnet2_ext.utils.deps import MissingDependencyError

#: Sampling rate of every file written.
FS = 16000
#: espeak-ng's default speed, words per minute (rate 1.0).
ESPEAK_WPM = 175
#: Debian package of each engine's binary.
TOOL_PACKAGES: Dict[str, str] = {"flite": "flite", "espeak-ng": "espeak-ng"}


class ToolMissingError(MissingDependencyError):
    """A speech synthesiser binary is not on PATH (the message says how to install)."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        spk: Speaker id, ``[a-z0-9_]`` only (it prefixes utterance ids, Kaldi style).
        engine: ``"flite"`` or ``"espeak-ng"``.
        name: flite ``-voice`` name or espeak-ng ``-v`` voice (``accent+variant``).
        pitch: espeak-ng ``-p`` (0-99) or flite ``int_f0_target_mean`` in Hz; None
            keeps the voice's default.
    """

    spk: str
    engine: str
    name: str
    pitch: Optional[int] = None

    def __post_init__(self):
        assert self.engine in TOOL_PACKAGES, (self.engine, list(TOOL_PACKAGES))
        assert self.spk and all(
            c.islower() or c.isdigit() or c == "_" for c in self.spk
        ), self.spk

    def to_dict(self) -> Dict:
        return asdict(self)


#: Speakers of the training split: 5 flite (slt at three pitches, rms, kal16) + 11
#: espeak-ng (6 accents x 11 variants; more voices generalise better to held-out ones).
TRAIN_VOICES: Tuple[Voice, ...] = (
    Voice("fl_slt", "flite", "slt"),
    Voice("fl_slt_low", "flite", "slt", pitch=140),
    Voice("fl_slt_high", "flite", "slt", pitch=210),
    Voice("fl_rms", "flite", "rms"),
    Voice("fl_kal16", "flite", "kal16"),
    Voice("es_us_m1", "espeak-ng", "en-us+m1", pitch=45),
    Voice("es_gb_f2", "espeak-ng", "en-gb+f2", pitch=55),
    Voice("es_scot_m3", "espeak-ng", "en-gb-scotland+m3", pitch=40),
    Voice("es_rp_f4", "espeak-ng", "en-gb-x-rp+f4", pitch=60),
    Voice("es_carib_m4", "espeak-ng", "en-029+m4", pitch=50),
    Voice("es_us_f1", "espeak-ng", "en-us+f1", pitch=50),
    Voice("es_gb_m5", "espeak-ng", "en-gb+m5", pitch=35),
    Voice("es_cwmd_f5", "espeak-ng", "en-gb-x-gbcwmd+f5", pitch=65),
    Voice("es_us_m7", "espeak-ng", "en-us+m7", pitch=40),
    Voice("es_rp_m6", "espeak-ng", "en-gb-x-rp+m6", pitch=50),
    Voice("es_scot_f3", "espeak-ng", "en-gb-scotland+f3", pitch=60),
)
#: Held-out speakers for dev and test: voices (and accents) never heard in training,
#: of the two kinds of synthesis training has (flite's clustergen voices, espeak-ng's
#: formant voices). kal16 is in training because it is flite's only diphone voice: held
#: out, it tested an unseen synthesis method rather than an unseen speaker.
HELDOUT_VOICES: Tuple[Voice, ...] = (
    Voice("fl_awb", "flite", "awb"),
    Voice("es_nyc_f3", "espeak-ng", "en-us-nyc+f3", pitch=55),
    Voice("es_lanc_m2", "espeak-ng", "en-gb-x-gbclan+m2", pitch=45),
    Voice("es_cwmd_m3", "espeak-ng", "en-gb-x-gbcwmd+m3", pitch=45),
)


def missing_tools(engines: Sequence[str] = tuple(TOOL_PACKAGES)) -> List[str]:
    """Engines of ``engines`` whose binary is not on PATH."""
    return [e for e in engines if shutil.which(e) is None]


def install_command(engines: Sequence[str]) -> str:
    """The command that installs the Debian packages of ``engines``."""
    return f"sudo apt-get install -y {' '.join(TOOL_PACKAGES[e] for e in engines)}"


def ensure_tools(engines: Sequence[str] = tuple(TOOL_PACKAGES)) -> None:
    """Checks that the synthesiser binaries are on PATH; installs nothing.

    Installing system packages is left to the user or to
    ``tools/install_system_deps.sh`` (``make sysdeps``).

    Args:
        engines: Binaries needed (``flite``, ``espeak-ng``).

    Raises:
        ToolMissingError: a binary is missing; the message gives the exact command,
            e.g. ``flite not found; install it with: sudo apt-get install -y flite``.
    """
    missing = missing_tools(engines)
    if missing:
        it = "it" if len(missing) == 1 else "them"
        raise ToolMissingError(
            f"{', '.join(missing)} not found; install {it} with:"
            f" {install_command(missing)}"
        )


def tool_versions(engines: Sequence[str] = tuple(TOOL_PACKAGES)) -> Dict[str, str]:
    """First line of ``--version`` of each engine, for the corpus README."""
    out = {}
    for engine in engines:
        proc = subprocess.run([engine, "--version"], capture_output=True, text=True)
        lines = [
            line.strip()
            for line in (proc.stdout + proc.stderr).splitlines()
            if "version" in line.lower() or "espeak" in line.lower()
        ]
        out[engine] = lines[0].split("  Data at")[0] if lines else "unknown"
    return out


def synth_command(
    voice: Voice, text: str, rate: float = 1.0, pitch_offset: int = 0
) -> Tuple[List[str], Optional[bytes]]:
    """The command line that speaks ``text``, and what to feed its stdin.

    flite writes to the path given as ``-o`` (appended by :func:`synthesize`);
    espeak-ng reads the text on stdin and writes the wav to stdout.

    Args:
        voice: Speaker.
        text: Sentence to say.
        rate: Speed factor, 1.0 = the voice's normal speed, 1.2 = 20% faster.
        pitch_offset: Added to ``voice.pitch`` (espeak-ng only, clipped to 0-99).

    Returns:
        ``(argv, stdin bytes or None)``.
    """
    assert rate > 0, rate
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.name]
        cmd += ["--setf", f"duration_stretch={1.0 / rate:.4f}"]
        if voice.pitch is not None:
            cmd += ["--setf", f"int_f0_target_mean={voice.pitch}"]
        return cmd + ["-t", text], None
    pitch = 50 if voice.pitch is None else voice.pitch
    pitch = int(min(99, max(0, pitch + pitch_offset)))
    cmd = ["espeak-ng", "-v", voice.name, "-s", str(int(round(ESPEAK_WPM * rate)))]
    cmd += ["-p", str(pitch), "--stdin", "--stdout"]
    return cmd, text.encode("utf-8")


def resample(x: np.ndarray, fs_in: int, fs_out: int = FS) -> np.ndarray:
    """Polyphase resampling of a float signal (``22050 -> 16000`` is ``320/441``)."""
    if fs_in == fs_out:
        return x
    from scipy.signal import resample_poly

    g = gcd(fs_in, fs_out)
    return resample_poly(x, fs_out // g, fs_in // g)


def synthesize(
    voice: Voice,
    text: str,
    path,
    rate: float = 1.0,
    pitch_offset: int = 0,
    min_peak: float = 0.01,
) -> float:
    """Speaks ``text`` into ``path`` (16 kHz mono PCM16) and returns its duration.

    Args:
        voice: Speaker.
        text: Sentence to say.
        path: Output wav; written atomically.
        rate: Speed factor (see :func:`synth_command`).
        pitch_offset: espeak-ng pitch offset.
        min_peak: Smallest peak amplitude (full scale 1.0) accepted as speech.

    Returns:
        Duration in seconds.

    Raises:
        RuntimeError: the engine failed or produced silence; the message carries the
            command.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd, stdin = synth_command(voice, text, rate, pitch_offset)
    raw_path = None
    if voice.engine == "flite":
        # next to the output, named like every temporary file here (``.*.tmp``), so
        # a killed run's leftovers are found and removed by the next one
        fd, raw_path = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".raw.tmp"
        )
        os.close(fd)
        cmd = cmd + ["-o", raw_path]
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{cmd} failed (exit {proc.returncode}): "
                f"{proc.stderr.decode(errors='replace').strip()}"
            )
        source = raw_path if raw_path else io.BytesIO(proc.stdout)
        x, fs = soundfile.read(source, dtype="float64", always_2d=True)
    finally:
        if raw_path and os.path.exists(raw_path):
            os.unlink(raw_path)
    x = resample(x.mean(axis=1), fs, FS)
    if len(x) == 0 or np.max(np.abs(x)) < min_peak:
        raise RuntimeError(f"{cmd} produced silence for {text!r}")
    write_wav_atomic(path, x, FS)
    return len(x) / FS


def wav_duration(path) -> Optional[float]:
    """Duration of a finished 16 kHz mono wav, or None if missing or not such a file."""
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None
    if info.samplerate != FS or info.channels != 1 or info.frames == 0:
        return None
    return info.frames / FS
