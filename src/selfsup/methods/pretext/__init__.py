"""Classic pretext tasks: a label made from the image itself (its rotation, the order or
position of its tiles, its colours, a hidden region) is predicted from the rest."""
