"""``python -m lapenna.distributed SCRIPT [ARGS...]``: run one rank's program supervised (see
``lapenna.distributed.supervise``), so that a rank killed by a signal does not end the job."""

from lapenna.distributed.supervise import main

raise SystemExit(main())
