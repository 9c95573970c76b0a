"""`python -m augnet_mock` is `augnet-mock`."""

from .cli import main

raise SystemExit(main())
