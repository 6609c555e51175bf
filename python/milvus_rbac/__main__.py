"""``python -m milvus_rbac``: the ``milvus-rbac`` command."""

import sys

from milvus_rbac.cli import main

sys.exit(main())
