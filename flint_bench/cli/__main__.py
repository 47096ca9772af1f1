from flint_bench.cli import main

main()
