from gpaccess.cli.main import run

run()
