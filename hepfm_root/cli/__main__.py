"""``python -m hepfm_root.cli``: the same as the ``hepfm`` console script."""

from . import main

if __name__ == "__main__":
    main()
