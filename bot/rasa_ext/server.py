"""``python -m bot.rasa_ext.server <rasa arguments>``: Rasa's own command line, after
the startup hook (bot.rasa_ext.startup.install).

`python -m bot serve rasa` runs ``... server run ...`` and `make shell` runs ``...
server shell ...``, so every Rasa process of the project starts with the same patches.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    # Before Rasa and TensorFlow: importing skops scans sys.modules once per trusted
    # type, about 3 s of CPU at model load with TensorFlow's 4,000 modules loaded and
    # 1 s now (py-spy, docs/performance.md).
    import skops.io  # noqa: F401

    from bot.rasa_ext.startup import install

    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
