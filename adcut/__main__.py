from adcut.cli import main

main()
