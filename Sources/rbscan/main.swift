print("rbscan")
