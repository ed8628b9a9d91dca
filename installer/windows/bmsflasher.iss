; Inno Setup 6 script: the Windows installer around the PyInstaller one-folder build.
;
; Built by `python installer\build.py` (which passes the defines below), or by hand from the
; repository root after a build:
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 installer\windows\bmsflasher.iss
;
; Installs per user without administrator rights by default (workshop laptops are often locked
; down); "Install for all users" in the first dialog switches to Program Files. Adds a Start-menu
; entry, an optional desktop icon, the .bmspkg file association and, optionally, the command-line
; program on PATH. Uninstalling removes all of that and keeps the user's service history.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef RepoRoot
  #define RepoRoot "..\.."
#endif
#ifndef BundleDir
  #define BundleDir RepoRoot + "\dist\bmsflasher"
#endif
#ifndef IconFile
  #define IconFile RepoRoot + "\build\icons\bmsflasher.ico"
#endif
#define AppName "bmsflasher"
#define GuiExe "bmsflasher-gui.exe"
#define ProgId "bmsflasher.Package"

[Setup]
; The AppId identifies the product for upgrades and uninstall: never change it.
AppId={{6B3F6E0C-2C4B-4E53-9D0B-7A1C5E2F9B41}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=bmsflasher developers
AppComments=Diagnose smart battery management systems and update their firmware safely.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\{#GuiExe}
UninstallDisplayName={#AppName} {#AppVersion}
LicenseFile={#RepoRoot}\LICENSE
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
ChangesEnvironment=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "dutch"; MessagesFile: "compiler:Languages\Dutch.isl"
Name: "french"; MessagesFile: "compiler:Languages\French.isl"

[CustomMessages]
english.AssocTask=Open .bmspkg firmware packages with bmsflasher
dutch.AssocTask=.bmspkg-firmwarepakketten openen met bmsflasher
french.AssocTask=Ouvrir les paquets de micrologiciel .bmspkg avec bmsflasher
english.PathTask=Add the bmsflasher command to PATH
dutch.PathTask=De opdracht bmsflasher aan PATH toevoegen
french.PathTask=Ajouter la commande bmsflasher au PATH
english.FileTypes=File types:
dutch.FileTypes=Bestandstypen:
french.FileTypes=Types de fichiers :
english.CommandLine=Command line:
dutch.CommandLine=Opdrachtregel:
french.CommandLine=Ligne de commande :
english.DemoEntry=bmsflasher demo (virtual battery)
dutch.DemoEntry=bmsflasher-demo (virtuele batterij)
french.DemoEntry=Démo bmsflasher (batterie virtuelle)
english.DriversEntry=USB adapter drivers guide
dutch.DriversEntry=Handleiding stuurprogramma's USB-adapters
french.DriversEntry=Guide des pilotes d'adaptateurs USB
english.ReadDrivers=Read the USB adapter drivers guide
dutch.ReadDrivers=De handleiding voor USB-adapters lezen
french.ReadDrivers=Lire le guide des pilotes d'adaptateurs USB
english.PackageType=bmsflasher firmware package
dutch.PackageType=bmsflasher-firmwarepakket
french.PackageType=Paquet de micrologiciel bmsflasher

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "association"; Description: "{cm:AssocTask}"; GroupDescription: "{cm:FileTypes}"
Name: "addtopath"; Description: "{cm:PathTask}"; GroupDescription: "{cm:CommandLine}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole runtime: stale libraries from an older version must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#GuiExe}"; WorkingDir: "{userdocs}"
Name: "{group}\{cm:DemoEntry}"; Filename: "{app}\{#GuiExe}"; Parameters: "--demo"; WorkingDir: "{userdocs}"
Name: "{group}\{cm:DriversEntry}"; Filename: "{win}\notepad.exe"; Parameters: """{app}\_internal\drivers\windows\README.md"""
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; WorkingDir: "{userdocs}"; Tasks: desktopicon

[Registry]
; HKA is HKCU for a per-user install and HKLM for an all-users install.
Root: HKA; Subkey: "Software\Classes\.bmspkg"; ValueType: string; ValueName: ""; ValueData: "{#ProgId}"; Flags: uninsdeletevalue; Tasks: association
Root: HKA; Subkey: "Software\Classes\.bmspkg"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-bmsflasher-package"; Flags: uninsdeletevalue; Tasks: association
Root: HKA; Subkey: "Software\Classes\.bmspkg\OpenWithProgids"; ValueType: string; ValueName: "{#ProgId}"; ValueData: ""; Flags: uninsdeletevalue; Tasks: association
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "{cm:PackageType}"; Flags: uninsdeletekey; Tasks: association
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#GuiExe},0"; Tasks: association
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""; Tasks: association
Root: HKA; Subkey: "Software\Classes\Applications\{#GuiExe}\SupportedTypes"; ValueType: string; ValueName: ".bmspkg"; ValueData: ""; Flags: uninsdeletekey; Tasks: association
; The CLI on PATH (per user or per machine, matching the install mode).
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath('{app}') and not IsAdminInstallMode
Root: HKLM; Subkey: "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath('{app}') and IsAdminInstallMode

[Run]
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
Filename: "{win}\notepad.exe"; Parameters: """{app}\_internal\drivers\windows\README.md"""; Description: "{cm:ReadDrivers}"; Flags: nowait postinstall skipifsilent unchecked

[Code]
function EnvironmentRoot(): Integer;
begin
  if IsAdminInstallMode then
    Result := HKEY_LOCAL_MACHINE
  else
    Result := HKEY_CURRENT_USER;
end;

function EnvironmentKey(): String;
begin
  if IsAdminInstallMode then
    Result := 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  else
    Result := 'Environment';
end;

{ True when the install folder is not yet on PATH (so it is added only once). }
function NeedsAddPath(Param: String): Boolean;
var
  OrigPath: String;
begin
  if not RegQueryStringValue(EnvironmentRoot(), EnvironmentKey(), 'Path', OrigPath) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(ExpandConstant(Param)) + ';', ';' + Uppercase(OrigPath) + ';') = 0;
end;

{ On uninstall, take the install folder back out of PATH (leaving every other entry alone). }
procedure RemoveFromPath(Folder: String);
var
  OrigPath, Padded, Needle: String;
  Index: Integer;
begin
  if not RegQueryStringValue(EnvironmentRoot(), EnvironmentKey(), 'Path', OrigPath) then
    exit;
  Padded := ';' + OrigPath + ';';
  Needle := ';' + Folder + ';';
  Index := Pos(Uppercase(Needle), Uppercase(Padded));
  if Index = 0 then
    exit;
  Delete(Padded, Index, Length(Needle) - 1);
  Padded := Copy(Padded, 2, Length(Padded) - 2);
  RegWriteExpandStringValue(EnvironmentRoot(), EnvironmentKey(), 'Path', Padded);
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
