from nerkd.cli.app import main

main()
