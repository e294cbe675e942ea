from stacks.cli import main

main()
