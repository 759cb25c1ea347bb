from gpaccess.cli.main import run

if __name__ == "__main__":  # worker processes (support pack PDFs) import this module without running it
    run()
