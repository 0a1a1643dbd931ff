"""The board's screens: the board, a card's details, and the modal forms."""
