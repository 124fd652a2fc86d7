# TPM 2.0 through libtpm2-pkcs11 on a software TPM (swtpm + tpm2-abrmd on a
# private session D-Bus), started and stopped by PID here. ECDSA keys are
# signing-only; RSA keys sign through the TPM decrypt operation, so the token
# needs a wider template: meshca generates the narrowest it accepts, reports
# the usage read back, and require: signing-only refuses it. RSA-4096 is
# beyond this TPM and is refused with the capability message.
source "$(dirname "$0")/lib.sh"
source "$MESHCA_SOURCE_DIR/tests/tokens/lib.sh"
start_tpm
exercise_token "ecdsa-p256 ecdsa-p384 rsa-2048 rsa-3072" "rsa-4096"
# require: signing-only on a new RSA key: no template is both signing-only and
# usable here, so nothing is generated and nothing is signed.
write_token_plan strict-new.yaml rsa-2048 'label: "strict-new"' ", require: signing-only"
expect_exit 4 "$MESHCA" ceremony run strict-new.yaml --out strict-new --yes
expect_in last.err "requires a signing-only key"
[ ! -e strict-new/root ] || fail "a root was written although no signing-only key could be made"
pass
record rsa-2048 "require: signing-only, new key" "refused (exit 4)" "no signing-only RSA template is accepted"
# The TPM's lockout recovery path, not an SO reset, is named on a wrong PIN.
MESHCA_PIN=$WRONG_PIN expect_exit 4 "$MESHCA" hsm list --module "$MODULE" --token "$TOKEN" --pin-source env:MESHCA_PIN
expect_in last.err "wrong user PIN"
expect_in last.err "dictionary-attack lockout"
expect_in last.err "tpm2_dictionarylockout --clear-lockout"
expect_not_in last.err "SoftHSM2"
finish
