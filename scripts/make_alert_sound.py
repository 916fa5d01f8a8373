"""Write web/static/alert.wav: the urgent-ticket chime (two short tones, 0.4 s, 8 kHz mono).

    .venv/bin/python scripts/make_alert_sound.py

Generated rather than downloaded so nothing in the app comes from the network and the file's
origin is this script.
"""
from __future__ import annotations

import math
import struct
import sys
import wave
from pathlib import Path

RATE = 8000
TONES = ((880.0, 0.16), (0.0, 0.05), (1320.0, 0.2))  # Hz, seconds; 0 Hz is a pause


def samples():
    for freq, secs in TONES:
        n = int(RATE * secs)
        for i in range(n):
            fade = min(1.0, i / 80, (n - i) / 80)  # no clicks at the edges
            yield int(0.45 * 32767 * fade * math.sin(2 * math.pi * freq * i / RATE)) if freq else 0


def main(out: Path) -> None:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(struct.pack("<h", v) for v in samples()))
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "web" / "static" / "alert.wav")
