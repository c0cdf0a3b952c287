"""Speech <-> text pairs from SST-2 sentences, spoken by espeak-ng in several voices and speeds.

Writes ``OUT/wav/*.wav`` (mono, 16-bit, ``--sample-rate`` Hz) and ``OUT/pairs.tsv`` with the
columns ``wav``, ``text``, ``label`` (SST-2's sentiment, ``negative`` / ``positive``) and
``split``: the last ``--val-fraction`` of the sentences, every voice of them, are ``val``, so a
held-out sentence is never heard in training. Each sentence is read ``--voices`` times, each
time by a different voice with its own speed and pitch, so matching speech to text is not a
lookup of one recording. Needs espeak-ng (Debian / Ubuntu: ``apt-get install -y espeak-ng``).

Usage::

    python benchmarks/make_speech_pairs.py --out /tmp/speech-pairs [--sentences 1000]

then train with ``data.source: pairs``, ``data.path: /tmp/speech-pairs/pairs.tsv`` (see
``benchmarks/bench_clip_speech_text.py``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import soundfile as sf

from selfsup.data.audio_decode import resample

ROOT = Path(__file__).resolve().parents[1]
SST2 = Path("/work/shared/data/sst2/train.tsv")
VOICES = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us+f2",
    "en-gb+f3",
    "en-us+m3",
    "en-gb-x-rp+f4",
)
SENTIMENT = ("negative", "positive")


def sentences(path: Path, count: int, min_words: int, max_words: int, seed: int) -> list:
    """``count`` distinct (sentence, label) rows of SST-2 with a word count in range."""
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        next(f)  # header: label, sentence
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            text = " ".join(text.split())
            if min_words <= len(text.split()) <= max_words and label in ("0", "1"):
                seen.setdefault(text, int(label))
    rows = sorted(seen.items())
    random.Random(seed).shuffle(rows)
    if len(rows) < count:
        sys.exit(f"only {len(rows)} sentences of {min_words}-{max_words} words in {path}")
    return rows[:count]


def speak(text: str, voice: str, speed: int, pitch: int, rate: int, out: Path) -> None:
    """One recording, resampled to ``rate`` and written atomically."""
    with tempfile.NamedTemporaryFile(suffix=".wav", dir=out.parent) as tmp:
        subprocess.run(
            # The text goes in on stdin: a sentence starting with "-" is not an option.
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(speed),
                "-p",
                str(pitch),
                "-w",
                tmp.name,
                "--stdin",
            ],
            input=text.encode(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        x, sr = sf.read(tmp.name, dtype="float32")
    part = out.with_suffix(".part.wav")
    sf.write(part, resample(x, sr, rate), rate, subtype="PCM_16")
    os.replace(part, out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (outside the repository)")
    p.add_argument("--sst2", default=str(SST2), help="SST-2 train.tsv (label, sentence)")
    p.add_argument("--sentences", type=int, default=1000)
    p.add_argument("--voices", type=int, default=3, help="recordings per sentence")
    p.add_argument("--sample-rate", type=int, default=8000)
    p.add_argument("--min-words", type=int, default=3)
    p.add_argument("--max-words", type=int, default=10)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed; on Debian / Ubuntu: apt-get install -y espeak-ng")
    out = Path(a.out).resolve()
    if out == ROOT or ROOT in out.parents:
        sys.exit(f"write the pairs outside the repository, not under {ROOT}")
    if a.voices > len(VOICES):
        sys.exit(f"at most {len(VOICES)} voices per sentence")
    (out / "wav").mkdir(parents=True, exist_ok=True)
    rows = sentences(Path(a.sst2), a.sentences, a.min_words, a.max_words, a.seed)
    rng = random.Random(a.seed)
    n_val = round(len(rows) * a.val_fraction)
    jobs, lines = [], ["wav\ttext\tlabel\tsplit"]
    for i, (text, label) in enumerate(rows):
        split = "val" if i >= len(rows) - n_val else "train"
        for k, voice in enumerate(rng.sample(VOICES, a.voices)):
            speed, pitch = rng.randint(130, 200), rng.randint(25, 75)
            name = f"wav/{i:05d}_{k}.wav"
            jobs.append((text, voice, speed, pitch, a.sample_rate, out / name))
            lines.append(f"{name}\t{text}\t{SENTIMENT[label]}\t{split}")
    start = time.time()
    with ThreadPoolExecutor(max_workers=a.workers) as pool:
        list(pool.map(lambda job: speak(*job), jobs))
    manifest = out / "pairs.tsv"
    part = out / "pairs.tsv.part"
    part.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(part, manifest)
    print(
        f"{len(jobs)} recordings of {len(rows)} sentences ({n_val} held out) in "
        f"{time.time() - start:.0f} s -> {manifest}"
    )


if __name__ == "__main__":
    main()
