from homeloop.cli import main

main()
