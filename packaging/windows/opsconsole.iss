; Inno Setup script for Ops Console on Windows. NOT BUILT OR TESTED in this project's CI or on its
; Linux machines (packaging/README.md): a recipe to start from on a Windows build machine.
;
;   1. py -3.11 -m venv .venv-package && .venv-package\Scripts\pip install -e ".[package]"
;   2. .venv-package\Scripts\pyinstaller --noconfirm --distpath dist --workpath build\pyinstaller packaging\opsconsole.spec
;      (makes dist\opsconsole\: opsconsole.exe for the console, opsconsole-gui.exe without a console window)
;   3. iscc packaging\windows\opsconsole.iss      -> dist\opsconsole-<version>-setup.exe
;
; Per-machine install in Program Files; the managed profiles go in %ProgramData%\opsconsole\profiles.toml
; (docs/admin.md), which this installer creates only as a commented example and never removes: like a
; dpkg conffile, it is the admin's. Silent install for a fleet: opsconsole-<version>-setup.exe /VERYSILENT
; /SUPPRESSMSGBOXES /NORESTART, then copy your profiles.toml into %ProgramData%\opsconsole.

#define AppName "Ops Console"
; AppVersion: keep in step with desktop/opsconsole/__init__.py
#define AppVersion "0.1.0"
#define AppId "io.github.opsconsole.OpsConsole"

[Setup]
AppId={{6B1B9F7C-3E2A-4C55-9E0B-0D5F2B7A9C41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Ops Console engineers
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=opsconsole-{#AppVersion}-setup
; Rendered there from the SVG by the spec (PyInstaller's workpath).
SetupIconFile=..\..\build\pyinstaller\opsconsole\opsconsole.ico
UninstallDisplayIcon={app}\opsconsole-gui.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Puts the folder of opsconsole.exe on the system PATH (removed again on uninstall).
ChangesEnvironment=yes

[Files]
Source: "..\..\dist\opsconsole\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\debian\profiles.toml"; DestDir: "{commonappdata}\opsconsole"; Flags: onlyifdoesntexist uninsneveruninstall

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\opsconsole-gui.exe"; AppUserModelID: "{#AppId}"

[Registry]
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; \
    ValueName: "Path"; ValueData: "{olddata};{app}"; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\opsconsole.exe"; Parameters: "self-test"; Flags: runhidden; StatusMsg: "Checking the installation..."

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Current: string;
begin
  if not RegQueryStringValue(HKEY_LOCAL_MACHINE,
      'SYSTEM\CurrentControlSet\Control\Session Manager\Environment', 'Path', Current) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Current) + ';') = 0;
end;
