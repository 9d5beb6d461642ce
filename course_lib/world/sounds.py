"""Sounds: a 1-D waveform at `SAMPLE_RATE` Hz, a pure tone whose pitch is one discrete attribute.

Lengths vary per sample (`AUDIO_MIN_LEN`..`AUDIO_MAX_LEN` samples, i.e. 0.2..0.4 s), which is why audio
batches need padding and a mask, like text.
"""
import numpy as np

SAMPLE_RATE = 1000
PITCHES_HZ = (60, 110, 180, 270)  # all well under the Nyquist frequency (500 Hz)
AUDIO_MIN_LEN, AUDIO_MAX_LEN = 200, 400
AMPLITUDE = 0.8
FADE = 20  # samples of linear fade-in/out, so the tone starts and stops without a click


def tone(pitch_index: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """A sine at `PITCHES_HZ[pitch_index]` with random phase and a short fade: float32 (n_samples,)."""
    if not 0 <= pitch_index < len(PITCHES_HZ):
        raise ValueError(f"pitch_index {pitch_index} out of range 0..{len(PITCHES_HZ) - 1}")
    t = np.arange(n_samples) / SAMPLE_RATE
    wave = AMPLITUDE * np.sin(2 * np.pi * PITCHES_HZ[pitch_index] * t + rng.uniform(0, 2 * np.pi))
    fade = min(FADE, n_samples // 4)
    envelope = np.ones(n_samples)
    envelope[:fade] = np.linspace(0, 1, fade, endpoint=False)
    envelope[n_samples - fade:] = np.linspace(1, 0, fade)
    return (wave * envelope).astype(np.float32)


def random_length(rng: np.random.Generator) -> int:
    """A clip length drawn uniformly from AUDIO_MIN_LEN..AUDIO_MAX_LEN (inclusive)."""
    return int(rng.integers(AUDIO_MIN_LEN, AUDIO_MAX_LEN + 1))
