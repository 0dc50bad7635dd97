from local_athena.cli import main

raise SystemExit(main())
