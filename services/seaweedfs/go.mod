// Build module of the native S3 store (pakn/services/seaweedfs.py): pins the SeaweedFS version;
// go.sum pins every dependency. `replace` mirrors SeaweedFS's own go.mod (a main module must).
module pakn/seaweedfs-build

go 1.26.6

require github.com/seaweedfs/seaweedfs v0.0.0-20261109003541-7506e5f91cd6

replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0
