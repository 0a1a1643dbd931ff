"""`taskly board`: the Textual board over the local cache (importing this package loads nothing).

    from taskly.tui.run import open_board
    open_board(factory, "WEB")          # runs until the user quits
"""
