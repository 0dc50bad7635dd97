from glue_deploy import main

raise SystemExit(main())
